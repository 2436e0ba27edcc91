import { currentTask, Ignore, Reject, type TaskOptions } from "@tq/core";
import type { TaskRetriedEvent, Worker } from "@tq/worker";
import { expect } from "vitest";
import { eventually } from "./wait.js";
import type { WorkerHarness } from "./worker-harness.js";
import type { DefineWorkerTest } from "./worker-suite.js";

class Flaky extends Error {
  override name = "Flaky";
}

/** One retry as the test saw it: when the run that asked for it started, and its task-retried event. */
interface SeenRetry {
  retries: number;
  runStartedAt: number;
  eta: number;
  emittedAt: number;
}

/**
 * Runs `suite.backoff` (always failing with `Flaky`, retried by `autoretryFor` with these options)
 * until it fails, and returns each retry with the timestamps that pin its countdown.
 */
async function runBackoff(harness: WorkerHarness, options: Omit<TaskOptions, "args">): Promise<SeenRetry[]> {
  const app = harness.makeApp();
  const startedAt = new Map<number, number>();
  app.task(
    "suite.backoff",
    () => {
      startedAt.set(currentTask()!.retries, Date.now());
      throw new Flaky("down");
    },
    { autoretryFor: [Flaky], ...options },
  );
  const worker = await harness.startWorker(app);
  const events = retriedEvents(worker);
  const result = harness.makeApp().sendTask("suite.backoff", []);
  await expect(result.get({ timeout: harness.options.timeoutMs })).rejects.toMatchObject({
    excType: "Flaky",
  });
  return events.map(({ event, emittedAt }) => ({
    retries: event.retries,
    runStartedAt: startedAt.get(event.retries)!,
    eta: event.eta.getTime(),
    emittedAt,
  }));
}

function retriedEvents(worker: Worker): { event: TaskRetriedEvent; emittedAt: number }[] {
  const seen: { event: TaskRetriedEvent; emittedAt: number }[] = [];
  worker.on("task-retried", (event) => seen.push({ event, emittedAt: Date.now() }));
  return seen;
}

/**
 * A retry's countdown is pinned from both sides without timing the machine: its ETA was computed after
 * the run started (so `eta - runStartedAt >= countdown`) and before its event was emitted (so
 * `eta - emittedAt <= countdown`). 1 ms of slack: a Date drops fractions of a millisecond.
 */
function expectCountdowns(seen: SeenRetry[], countdownsS: number[]): void {
  expect(seen.map((retry) => retry.retries)).toEqual(countdownsS.map((_, index) => index));
  for (const [index, retry] of seen.entries()) {
    const countdownMs = countdownsS[index]! * 1000;
    expect(retry.eta - retry.runStartedAt, `retry ${index}`).toBeGreaterThanOrEqual(countdownMs - 1);
    expect(retry.eta - retry.emittedAt, `retry ${index}`).toBeLessThanOrEqual(countdownMs + 1);
  }
}

/** Retries (`task.retry`, `autoretryFor`, back-off), `Reject` and `Ignore`, as Celery's worker does them. */
export function registerRetryWorkerTests(defineTest: DefineWorkerTest): void {
  defineTest(
    "task.retry() sends the task again with one more retries, then fails with its exc",
    async (harness) => {
      const app = harness.makeApp();
      const seen: { retries: number; id: string }[] = [];
      const flaky = app.task("suite.flaky", () => {
        const { retries, id } = currentTask()!;
        seen.push({ retries, id });
        throw flaky.retry({ exc: new Flaky(`run ${retries}`), countdown: 0.05, maxRetries: 2 });
      });
      const worker = await harness.startWorker(app);
      const events = retriedEvents(worker);
      const result = harness.makeApp().sendTask("suite.flaky", []);
      await expect(result.get({ timeout: harness.options.timeoutMs })).rejects.toMatchObject({
        excType: "Flaky",
        excMessage: ["run 2"],
      });
      expect(seen).toEqual([0, 1, 2].map((retries) => ({ retries, id: result.id })));
      expect(events.map(({ event }) => [event.retries, (event.error as Error).message])).toEqual([
        [0, "run 0"],
        [1, "run 1"],
      ]);
    },
  );

  defineTest("task.retry({ eta }) runs the task again at that time", async (harness) => {
    const app = harness.makeApp();
    const eta = new Date(Date.now() + 300);
    let ranAt = 0;
    const later = app.task("suite.later", () => {
      if (currentTask()!.retries === 0) throw later.retry({ eta });
      ranAt = Date.now();
      return "done";
    });
    const worker = await harness.startWorker(app);
    const events = retriedEvents(worker);
    const result = harness.makeApp().sendTask<string>("suite.later", []);
    expect(await result.get({ timeout: harness.options.timeoutMs })).toBe("done");
    expect(events.map(({ event }) => event.eta.getTime())).toEqual([eta.getTime()]);
    expect(ranAt).toBeGreaterThanOrEqual(eta.getTime());
  });

  defineTest(
    "retryBackoff without jitter waits factor × 2^retries, then fails with the original error",
    async (harness) => {
      const seen = await runBackoff(harness, { retryBackoff: 0.2, retryJitter: false, maxRetries: 4 });
      expectCountdowns(seen, [0.2, 0.4, 0.8, 1.6]);
      // Each retry ran no earlier than the ETA it was sent with.
      for (const [index, retry] of seen.slice(1).entries()) {
        expect(retry.runStartedAt).toBeGreaterThanOrEqual(seen[index]!.eta);
      }
    },
  );

  defineTest("retryBackoffMax caps the back-off", async (harness) => {
    const seen = await runBackoff(harness, {
      retryBackoff: 0.2,
      retryBackoffMax: 0.5,
      retryJitter: false,
      maxRetries: 4,
    });
    expectCountdowns(seen, [0.2, 0.4, 0.5, 0.5]);
  });

  defineTest("retryJitter keeps each delay within [0, the back-off delay]", async (harness) => {
    const seen = await runBackoff(harness, { retryBackoff: 0.2, maxRetries: 3 });
    expect(seen.map((retry) => retry.retries)).toEqual([0, 1, 2]);
    for (const [index, retry] of seen.entries()) {
      expect(retry.eta - retry.runStartedAt).toBeGreaterThanOrEqual(-1);
      expect(retry.eta - retry.emittedAt).toBeLessThanOrEqual(0.2 * 2 ** index * 1000 + 1);
    }
  });

  defineTest("autoretryFor takes predicates and retryKwargs; dontAutoretryFor wins", async (harness) => {
    const app = harness.makeApp();
    let runs = 0;
    app.task(
      "suite.predicate",
      () => {
        runs += 1;
        throw new Error("HTTP 503");
      },
      {
        autoretryFor: [(error) => error instanceof Error && error.message.includes("503")],
        retryKwargs: { countdown: 0.05, maxRetries: 2 },
      },
    );
    let excluded = 0;
    app.task(
      "suite.excluded",
      () => {
        excluded += 1;
        throw new RangeError("not this one");
      },
      { autoretryFor: [Error], dontAutoretryFor: [RangeError], retryKwargs: { countdown: 0 } },
    );
    await harness.startWorker(app);
    const client = harness.makeApp();
    const timeout = harness.options.timeoutMs;
    await expect(client.sendTask("suite.predicate", []).get({ timeout })).rejects.toMatchObject({
      excType: "Error",
      excMessage: ["HTTP 503"],
    });
    expect(runs).toBe(3);
    await expect(client.sendTask("suite.excluded", []).get({ timeout })).rejects.toMatchObject({
      excType: "RangeError",
    });
    expect(excluded).toBe(1);
  });

  defineTest("RETRY is stored, with the cause, and read by AsyncResult between runs", async (harness) => {
    const app = harness.makeApp();
    const release = latch();
    const waiting = app.task("suite.waiting", async () => {
      if (currentTask()!.retries === 0) throw waiting.retry({ countdown: 0, exc: new Flaky("once") });
      await release.promise;
      return "ok";
    });
    await harness.startWorker(app);
    const client = harness.makeApp();
    const result = client.sendTask<string>("suite.waiting", []);
    try {
      await eventually(async () => (await result.state()) === "RETRY", harness.options.timeoutMs, "RETRY");
      const meta = await (await client.getBackend()).get(result.id);
      expect(meta).toMatchObject({ status: "RETRY", result: { exc_type: "Flaky", exc_message: ["once"] } });
    } finally {
      release.open();
    }
    expect(await result.get({ timeout: harness.options.timeoutMs })).toBe("ok");
    expect(await result.state()).toBe("SUCCESS");
  });

  for (const acksLate of [true, false]) {
    defineTest(`Reject with requeue runs the task again (acksLate: ${acksLate})`, async (harness) => {
      const app = harness.makeApp();
      let runs = 0;
      app.task(
        "suite.bounce",
        () => {
          runs += 1;
          if (runs === 1) throw new Reject("not now", { requeue: true });
          return runs;
        },
        { acksLate },
      );
      const worker = await harness.startWorker(app);
      const rejected: boolean[] = [];
      worker.on("task-rejected", (event) => rejected.push(event.requeue));
      const result = harness.makeApp().sendTask<number>("suite.bounce", []);
      expect(await result.get({ timeout: harness.options.timeoutMs })).toBe(2);
      expect(rejected).toEqual([true]);
    });

    defineTest(
      `Reject without requeue and Ignore store nothing and run once (acksLate: ${acksLate})`,
      async (harness) => {
        expect(await dropsAndIgnores(harness, acksLate)).toEqual({ drop: 1, ignore: 1 });
      },
    );
  }
}

// Sends one task that rejects its message and one that ignores it, then a third one behind them on a
// single slot: once it ran, the first two are settled, stored nothing and ran once.
async function dropsAndIgnores(
  harness: WorkerHarness,
  acksLate: boolean,
): Promise<{ drop: number; ignore: number }> {
  const app = harness.makeApp();
  const runs = { drop: 0, ignore: 0 };
  app.task(
    "suite.drop",
    () => {
      runs.drop += 1;
      throw new Reject("bad message");
    },
    { acksLate },
  );
  app.task(
    "suite.ignore",
    () => {
      runs.ignore += 1;
      throw new Ignore();
    },
    { acksLate },
  );
  app.task("suite.next", () => "next");
  await harness.startWorker(app, { concurrency: 1 });
  const client = harness.makeApp();
  const dropped = client.sendTask("suite.drop", []);
  const ignored = client.sendTask("suite.ignore", []);
  expect(await client.sendTask("suite.next", []).get({ timeout: harness.options.timeoutMs })).toBe("next");
  expect(await dropped.state()).toBe("PENDING");
  expect(await ignored.state()).toBe("PENDING");
  return runs;
}

function latch(): { promise: Promise<void>; open: () => void } {
  let open = (): void => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}
