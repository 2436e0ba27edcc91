import { performance } from "node:perf_hooks";
import { TqError } from "@tq/core";
import { expect } from "vitest";
import { eventually, sleep } from "./wait.js";
import type { DefineWorkerTest } from "./worker-suite.js";

/**
 * Rate limits (Celery's `rate_limit`, `task_default_rate_limit`, `worker_disable_rate_limits` and the
 * `rate_limit` control command): per task type and per worker, spread evenly, changeable at run time.
 * Timing is asserted only from below (a slow machine makes runs later, never earlier), or with a
 * generous upper bound.
 */
export function registerRateLimitWorkerTests(defineTest: DefineWorkerTest): void {
  defineTest(
    "rate limits: '20/s' spreads 100 tasks over about 5 seconds, within the prefetch window",
    async (harness) => {
      const workerApp = harness.makeApp();
      const starts: number[] = [];
      let mostWaiting = 0;
      // The worker is created before the task runs; the task reads its stats through this holder.
      const holder: { stats?: () => { rateLimited: number } } = {};
      workerApp.task(
        "suite.rate.spread",
        () => {
          starts.push(performance.now());
          mostWaiting = Math.max(mostWaiting, holder.stats?.().rateLimited ?? 0);
        },
        { rateLimit: "20/s", ignoreResult: true },
      );
      // The defaults: concurrency 10, prefetch multiplier 4, so 40 messages reserved at most.
      const worker = await harness.startWorker(workerApp, { concurrency: 10, prefetchMultiplier: 4 });
      holder.stats = () => worker.stats();
      const client = harness.makeApp();
      await Promise.all(
        Array.from({ length: 100 }, (_, n) => client.sendTask("suite.rate.spread", [n]).sent),
      );
      await eventually(
        () => starts.length === 100,
        40_000,
        () => `100 runs, got ${starts.length}`,
      );

      const total = (starts.at(-1) ?? 0) - (starts[0] ?? 0);
      const meanGap = total / 99;
      // One run every 50 ms: 99 gaps are 4.95 s. Runs can only come later than their token, not earlier.
      expect(total).toBeGreaterThanOrEqual(4_500);
      expect(meanGap).toBeGreaterThanOrEqual(45);
      expect(meanGap).toBeLessThan(300);
      // Waiting messages are reserved (unacked) and count against the prefetch, as in Celery.
      expect(mostWaiting).toBeGreaterThan(0);
      expect(mostWaiting).toBeLessThanOrEqual(40);
    },
    { timeoutMs: 90_000 },
  );

  defineTest("rate limits: a rate-limited task does not hold back other tasks", async (harness) => {
    const workerApp = harness.makeApp();
    let limitedRuns = 0;
    let freeRuns = 0;
    workerApp.task("suite.rate.limited", () => void limitedRuns++, { rateLimit: "1/m" });
    workerApp.task("suite.rate.free", () => void freeRuns++);
    const worker = await harness.startWorker(workerApp, { concurrency: 2, prefetchMultiplier: 10 });
    const client = harness.makeApp();
    for (let n = 0; n < 3; n++) await client.sendTask("suite.rate.limited", [n]).sent;
    const free = Array.from({ length: 5 }, (_, n) => client.sendTask("suite.rate.free", [n]));
    for (const result of free) await result.get({ timeoutMs: harness.options.timeoutMs });
    expect(freeRuns).toBe(5);
    // The waiting ones take no run slot.
    const waitingIdle = (): boolean => worker.stats().rateLimited === 2 && worker.stats().running === 0;
    await eventually(waitingIdle, harness.options.timeoutMs, "2 waiting, none running");
    expect(limitedRuns).toBe(1);
  });

  defineTest("rate limits: rate-limited messages not run yet are given back on stop()", async (harness) => {
    const runs: number[] = [];
    const firstApp = harness.makeApp();
    firstApp.task("suite.rate.giveback", (n: number) => void runs.push(n), { rateLimit: "1/h" });
    const first = await harness.startWorker(firstApp);
    const client = harness.makeApp();
    const results = Array.from({ length: 4 }, (_, n) => client.sendTask("suite.rate.giveback", [n]));
    await eventually(() => first.stats().rateLimited === 3, harness.options.timeoutMs, "3 waiting");
    await first.stop();
    expect(runs).toHaveLength(1);

    const secondApp = harness.makeApp({ workerDisableRateLimits: true });
    secondApp.task("suite.rate.giveback", (n: number) => void runs.push(n), { rateLimit: "1/h" });
    await harness.startWorker(secondApp);
    for (const result of results) await result.get({ timeoutMs: harness.options.timeoutMs });
    expect([...runs].sort()).toEqual([0, 1, 2, 3]);
  });

  defineTest(
    "rate limits: setRateLimit at run time speeds up and slows down jobs already waiting",
    async (harness) => {
      const workerApp = harness.makeApp();
      let runs = 0;
      workerApp.task("suite.rate.changed", () => void runs++, { rateLimit: "1/m" });
      const worker = await harness.startWorker(workerApp);
      expect(() => worker.setRateLimit("suite.rate.unknown", "1/s")).toSatisfy(throwsConfigError);
      expect(() => worker.setRateLimit("suite.rate.changed", "1/fortnight")).toSatisfy(throwsConfigError);

      const client = harness.makeApp();
      const results = Array.from({ length: 10 }, (_, n) => client.sendTask("suite.rate.changed", [n]));
      const { timeoutMs } = harness.options;
      const waiting = (): number => worker.stats().rateLimited;
      await eventually(() => runs === 1 && waiting() === 9, timeoutMs, "1 run, 9 waiting");

      // Speed up: at 1/m the next would leave the line in a minute; at 5/s one does every 200 ms.
      worker.setRateLimit("suite.rate.changed", "5/s");
      await eventually(
        () => waiting() <= 7,
        timeoutMs,
        () => `2 released after speeding up, ${waiting()} waiting`,
      );

      // Slow down: at 1/m none leaves the line in the next second. (Counted in the line rather than in
      // runs: a released message may take a while to start on a loaded machine.)
      worker.setRateLimit("suite.rate.changed", "1/m");
      const waitingWhenSlowed = waiting();
      expect(waitingWhenSlowed).toBeGreaterThan(0);
      await sleep(1_000);
      expect(waiting()).toBe(waitingWhenSlowed);

      // Removed: every job still waiting runs at once.
      worker.setRateLimit("suite.rate.changed", null);
      expect(waiting()).toBe(0);
      for (const result of results) await result.get({ timeoutMs });
      expect(runs).toBe(10);
      expect(worker.stats().rateLimited).toBe(0);
    },
  );

  defineTest(
    "rate limits: app.control reaches them: a revoked waiting message leaves its line, rateLimit() changes the limit",
    async (harness) => {
      const workerApp = harness.makeApp();
      const ran: number[] = [];
      workerApp.task("suite.rate.remote", (n: number) => void ran.push(n), { rateLimit: "1/h" });
      const worker = await harness.startWorker(workerApp);
      const client = harness.makeApp();
      const results = Array.from({ length: 3 }, (_, n) => client.sendTask("suite.rate.remote", [n]));
      const { timeoutMs } = harness.options;
      await eventually(() => worker.stats().rateLimited === 2, timeoutMs, "2 waiting");

      await client.control.revoke(results[1]?.id ?? "");
      await eventually(() => worker.stats().rateLimited === 1, timeoutMs, "the revoked one out of line");
      expect(await results[1]?.state()).toBe("REVOKED");

      await client.control.rateLimit("suite.rate.remote", null);
      await results[2]?.get({ timeoutMs });
      expect(ran).toEqual([0, 2]);
    },
  );

  defineTest(
    "rate limits: an expired job waiting for a token is revoked when it comes up, using no token",
    async (harness) => {
      const workerApp = harness.makeApp();
      const ran: string[] = [];
      workerApp.task("suite.rate.expiring", (label: string) => void ran.push(label), { rateLimit: "1/m" });
      const worker = await harness.startWorker(workerApp);
      const client = harness.makeApp();
      const first = client.sendTask("suite.rate.expiring", ["first"]);
      await first.get({ timeoutMs: harness.options.timeoutMs });
      // Expiring after 3 s: long enough to be received and wait in line even on a slow machine.
      const expiresAt = Date.now() + 3_000;
      const expiring = client.sendTask("suite.rate.expiring", ["expiring"], {}, { expires: 3 });
      const last = client.sendTask("suite.rate.expiring", ["last"]);
      await eventually(() => worker.stats().rateLimited === 2, harness.options.timeoutMs, "2 waiting");
      await eventually(() => Date.now() > expiresAt + 50, 10_000, "the expiry");
      // Same rate again: the line is looked at now instead of in a minute.
      worker.setRateLimit("suite.rate.expiring", "1/m");
      await expect(expiring.get({ timeoutMs: harness.options.timeoutMs })).rejects.toSatisfy(
        (error: unknown) => TqError.is(error, "TQ_TASK_REVOKED"),
      );
      expect(await expiring.state()).toBe("REVOKED");
      expect(ran).toEqual(["first"]);
      expect(worker.stats().rateLimited).toBe(1);
      expect(await last.state()).toBe("PENDING");
    },
  );

  defineTest("rate limits: a worker with disableRateLimits ignores rate limits", async (harness) => {
    const workerApp = harness.makeApp({ taskDefaultRateLimit: "1/h" });
    workerApp.task("suite.rate.own", (n: number) => n, { rateLimit: "1/m" });
    workerApp.task("suite.rate.default", (n: number) => n);
    const worker = await harness.startWorker(workerApp, { disableRateLimits: true });
    // Accepted and remembered, but without effect here (Celery's warning says the same).
    worker.setRateLimit("suite.rate.own", "1/h");
    const client = harness.makeApp();
    const results = Array.from({ length: 10 }, (_, n) =>
      client.sendTask<number>(n % 2 === 0 ? "suite.rate.own" : "suite.rate.default", [n]),
    );
    const values = await Promise.all(
      results.map((result) => result.get({ timeoutMs: harness.options.timeoutMs })),
    );
    expect(values).toEqual([...Array(10).keys()]);
    expect(worker.stats().rateLimited).toBe(0);
  });

  defineTest(
    "rate limits: taskDefaultRateLimit limits tasks that set none; rateLimit: null opts out",
    async (harness) => {
      const workerApp = harness.makeApp({ taskDefaultRateLimit: "1/m" });
      let defaulted = 0;
      workerApp.task("suite.rate.defaulted", () => void defaulted++);
      workerApp.task("suite.rate.optout", (n: number) => n, { rateLimit: null });
      const worker = await harness.startWorker(workerApp);
      const client = harness.makeApp();
      client.sendTask("suite.rate.defaulted", [0]);
      client.sendTask("suite.rate.defaulted", [1]);
      const free = Array.from({ length: 3 }, (_, n) => client.sendTask<number>("suite.rate.optout", [n]));
      for (const result of free) await result.get({ timeoutMs: harness.options.timeoutMs });
      await eventually(() => worker.stats().rateLimited === 1, harness.options.timeoutMs, "1 waiting");
      expect(defaulted).toBe(1);
    },
  );
}

function throwsConfigError(run: () => unknown): boolean {
  try {
    run();
  } catch (error) {
    return TqError.is(error, "TQ_CONFIG");
  }
  return false;
}
