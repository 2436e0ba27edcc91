/**
 * `tq worker -B` on the quickstart: beat runs inside the worker, sends `add every 30 seconds` and the
 * worker runs it, in one process on memory://. The add entry runs every second here (see
 * fixtures/fast-beat-app.ts) so that the log shows several runs within seconds.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const QUICKSTART = fileURLToPath(new URL("..", import.meta.url));
const TQ = fileURLToPath(new URL("../node_modules/.bin/tq", import.meta.url));

it("`tq worker -B` logs add(16, 16) sent by beat and run by the worker, again and again", async () => {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: "1" };
  const child = spawn(
    TQ,
    ["worker", "-B", "-A", "test/fixtures/fast-beat-app.ts", "--schedule-store", "memory://"],
    {
      cwd: QUICKSTART,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const count = (pattern: RegExp) => output.split("\n").filter((line) => pattern.test(line)).length;
  try {
    const deadline = Date.now() + 45_000;
    const succeeded = /"tq\.task_name":"tasks\.add".*"msg":"task succeeded in [\d.]+ms"/;
    while (count(succeeded) < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(
      count(/"msg":"Scheduler: Sending due task add every 30 seconds \(tasks\.add\)"/),
      output,
    ).toBeGreaterThanOrEqual(2);
    expect(count(succeeded), output).toBeGreaterThanOrEqual(2);
  } finally {
    child.kill("SIGTERM");
  }
  expect(await exited).toBe(0);
  expect(output).toContain('"msg":"beat: stopped"');
}, 60_000);
