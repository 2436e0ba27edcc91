import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const fixture = fileURLToPath(new URL("./fixtures/signal-worker.mjs", import.meta.url));
const built = fileURLToPath(new URL("../dist/index.js", import.meta.url));

/** Starts the fixture, waits until its task runs, sends the signals, and returns its exit and output. */
async function signalWorker(taskMs: number, signals: NodeJS.Signals[]) {
  // The fixture imports the published entry points, as a user's program would.
  expect(existsSync(built), "build @tq/worker first: pnpm --filter @tq/worker build").toBe(true);
  const child = spawn(process.execPath, [fixture, String(taskMs)], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes("started\n")) resolve();
    });
    child.on("exit", () => reject(new Error(`fixture exited early:\n${stdout}\n${stderr}`)));
  });
  for (const signal of signals) {
    child.kill(signal);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const code = await exited;
  return { code, stderr, lines: stdout.split("\n").filter(Boolean) };
}

describe("signal handlers (child process)", () => {
  it("warm shutdown on SIGTERM: the running task finishes, exit code 0", async () => {
    const { code, stderr, lines } = await signalWorker(500, ["SIGTERM"]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(lines).toEqual(["started", "task completed", "stored done", "stopped"]);
  }, 10_000);

  it("cold shutdown on SIGQUIT: the running task is abandoned at once and its message given back", async () => {
    // A 60 s task: the test's timeout fails it if the worker waited for the task.
    const { code, stderr, lines } = await signalWorker(60_000, ["SIGQUIT"]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(lines).toEqual(["started", "stopped"]);
  }, 20_000);

  it("a second SIGTERM turns a warm shutdown into a cold one", async () => {
    const { code, lines } = await signalWorker(60_000, ["SIGTERM", "SIGTERM"]);
    expect(code).toBe(0);
    expect(lines).toEqual(["started", "stopped"]);
  }, 20_000);
});
