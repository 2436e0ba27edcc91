import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const fixture = fileURLToPath(new URL("./fixtures/signal-worker.mjs", import.meta.url));
const built = fileURLToPath(new URL("../dist/index.js", import.meta.url));

describe("signal handlers (child process)", () => {
  it("finishes the running task on SIGTERM and exits with code 0", async () => {
    // The fixture imports the published entry points, as a user's program would.
    expect(existsSync(built), "build @tq/worker first: pnpm --filter @tq/worker build").toBe(true);
    const child = spawn(process.execPath, [fixture], { stdio: ["ignore", "pipe", "pipe"] });
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
    child.kill("SIGTERM");
    const code = await exited;
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout.split("\n").filter(Boolean)).toEqual([
      "started",
      "task completed",
      "stored done",
      "stopped",
    ]);
  }, 10_000);
});
