import { describe, expect, it } from "vitest";
import { runCli, startCli } from "./run-cli.js";

// Pool children load the app module (through tsx for TypeScript) before the worker is ready.
const SLOW = 60_000;

describe("tq worker pools", () => {
  it.each([
    ["threads", "a thread"],
    ["processes", "a process"],
  ])(
    "-P %s runs a TypeScript app's tasks in %s, stops a CPU-bound one at its time limit, and shows the pool",
    async (pool, place) => {
      const worker = startCli(["worker", "-A", "pool-app.ts", "-P", pool, "-c", "2"], { timeoutMs: SLOW });
      await worker.waitForOutput(/pool check: .*\n/, 50_000);
      await worker.waitForOutput(/spin check: .*\n/, 50_000);
      expect(worker.stderr()).toContain(`.> concurrency: 2 (${pool})`);
      expect(worker.stderr()).toContain(`pool check: ran in ${place}`);
      expect(worker.stderr()).toContain("spin check: TimeLimitExceeded");
      worker.child.kill("SIGTERM");
      expect(await worker.exited).toEqual({ code: 0, signal: null });
    },
    SLOW,
  );

  it(
    "reads Celery's prefork as processes and shows an autoscaled concurrency as Celery does",
    async () => {
      const worker = startCli(["worker", "-A", "app.mjs", "-P", "prefork", "--autoscale", "3,1"], {
        timeoutMs: SLOW,
      });
      await worker.waitForOutput(/"msg":"worker ready"/, 50_000);
      expect(worker.stderr()).toContain(".> concurrency: {min=1, max=3} (processes)");
      expect(worker.stdout()).toContain('"tq.pool":"processes"');
      worker.child.kill("SIGTERM");
      expect((await worker.exited).code).toBe(0);
    },
    SLOW,
  );

  it(
    "takes the time limits and child limits of Celery's flags",
    async () => {
      const worker = startCli(
        [
          "worker",
          "-A",
          "app.mjs",
          "-P",
          "solo",
          "--time-limit",
          "30",
          "--soft-time-limit",
          "20.5",
          "--max-tasks-per-child",
          "10",
          "--max-memory-per-child",
          "200000",
        ],
        { timeoutMs: SLOW },
      );
      await worker.waitForOutput(/"msg":"worker ready"/, 50_000);
      expect(worker.stderr()).toContain(".> concurrency: 1 (solo)");
      worker.child.kill("SIGTERM");
      expect((await worker.exited).code).toBe(0);
    },
    SLOW,
  );

  it.each([
    [
      ["-P", "gevent"],
      /^tq: option '-P, --pool <name>' argument 'gevent' is invalid\. expected one of async, solo/,
    ],
    [
      ["--autoscale", "2,5"],
      /^tq: option '--autoscale <max,min>' argument '2,5' is invalid\. expected max,min/,
    ],
    [["--autoscale", "x"], /--autoscale <max,min>' argument 'x' is invalid/],
    [["--time-limit", "-1"], /^tq: option '--time-limit <seconds>' argument '-1' is invalid/],
    [["--max-tasks-per-child", "0"], /^tq: option '--max-tasks-per-child <n>' argument '0' is invalid/],
  ])("refuses %j with one line and exit 1", async (flags, message) => {
    const run = await runCli(["worker", "-A", "app.mjs", ...flags]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(message);
  });
});
