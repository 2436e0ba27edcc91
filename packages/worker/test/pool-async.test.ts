import {
  currentTask,
  errorToExceptionInfo,
  Ignore,
  Reject,
  Retry,
  SoftTimeLimitExceeded,
  TaskFailedError,
  TaskRevokedError,
  TimeLimitExceeded,
  TqError,
  UnrecoverableError,
} from "@tq/core";
import { afterEach, describe, expect, it } from "vitest";
import { Job } from "../src/job.js";
import { timeLimitsFor } from "../src/pool/time-limits.js";
import { decodeError, encodeError } from "../src/pool/wire-error.js";
import { cleanUp, makeHarness, recordingLogger, sleep } from "./helpers.js";

afterEach(cleanUp);

const untilAborted = (ms: number): Promise<void> =>
  new Promise((resolve, reject) => {
    const { signal } = currentTask()!;
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });

describe("time limits in the async pool", () => {
  it("abort the signal with SoftTimeLimitExceeded at the soft limit; a task that catches it returns", async () => {
    const { app, worker } = makeHarness();
    const reasons: unknown[] = [];
    app.task("soft.caught", async () => {
      try {
        await untilAborted(20_000);
        return "not interrupted";
      } catch (error) {
        reasons.push(error);
        await sleep(50); // still running after the soft limit
        return "cleaned up";
      }
    });
    await worker.start();
    const result = app.sendTask("soft.caught", [], {}, { softTimeLimit: 0.2 });
    expect(await result.get({ timeout: 10_000 })).toBe("cleaned up");
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toBeInstanceOf(SoftTimeLimitExceeded);
    expect((reasons[0] as SoftTimeLimitExceeded).seconds).toBe(0.2);
  });

  it("store FAILURE SoftTimeLimitExceeded, as Celery's, when the task lets it through", async () => {
    const { app, worker } = makeHarness();
    app.task("soft.uncaught", () => untilAborted(20_000), { softTimeLimit: 0.2 });
    await worker.start();
    const error = await app
      .sendTask("soft.uncaught", [])
      .get({ timeout: 10_000 })
      .catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(TaskFailedError);
    expect(error).toMatchObject({
      excType: "SoftTimeLimitExceeded",
      excModule: "celery.exceptions",
      excMessage: [],
    });
  });

  it("end the run at the hard limit with FAILURE TimeLimitExceeded, the signal aborted with it", async () => {
    const { app, worker } = makeHarness({ worker: { timeLimit: 0.2 } });
    const reasons: unknown[] = [];
    app.task("hard.sleeper", async () => {
      await untilAborted(20_000).catch((error: unknown) => reasons.push(error));
    });
    await worker.start();
    const error = await app
      .sendTask("hard.sleeper", [])
      .get({ timeout: 10_000 })
      .catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ excType: "TimeLimitExceeded", excMessage: [0.2] });
    expect(reasons[0]).toBeInstanceOf(TimeLimitExceeded);
  });

  it("stop a task revoked with terminate: REVOKED with reason terminated", async () => {
    const { app, worker } = makeHarness();
    app.task("revoke.sleeper", () => untilAborted(20_000));
    await worker.start();
    const result = app.sendTask("revoke.sleeper", []);
    while (worker.active === 0) await sleep(10);
    await app.control.revoke(result.id, { terminate: true });
    const error = await result.get({ timeout: 10_000 }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(TaskRevokedError);
    expect((error as TaskRevokedError).excMessage).toEqual(["terminated"]);
  });
});

describe("timeLimitsFor", () => {
  const job = (
    header: [number | null, number | null],
    task: { timeLimit?: number; softTimeLimit?: number },
  ) => ({ message: { timeLimit: header }, task: { options: task } }) as unknown as Job;
  const worker = { hard: 100, soft: 90 };

  it("takes the call's header first, then the task's option, then the worker's, each on its own", () => {
    expect(timeLimitsFor(job([5, 4], { timeLimit: 50, softTimeLimit: 40 }), worker)).toEqual({
      hard: 5,
      soft: 4,
    });
    expect(timeLimitsFor(job([null, 4], { timeLimit: 50 }), worker)).toEqual({ hard: 50, soft: 4 });
    expect(timeLimitsFor(job([null, null], {}), worker)).toEqual({ hard: 100, soft: 90 });
    expect(timeLimitsFor(job([null, null], {}), { hard: null, soft: null })).toEqual({
      hard: null,
      soft: null,
    });
  });

  it("reads 0 as unset, as Celery's `or` does", () => {
    expect(timeLimitsFor(job([0, 0], { timeLimit: 7 }), worker)).toEqual({ hard: 7, soft: 90 });
  });
});

describe("the solo pool", () => {
  it("runs one task at a time whatever the concurrency", async () => {
    const { app, worker } = makeHarness({ worker: { pool: "solo", concurrency: 8 } });
    let running = 0;
    let most = 0;
    app.task("solo.step", async () => {
      running += 1;
      most = Math.max(most, running);
      await sleep(30);
      running -= 1;
    });
    await worker.start();
    expect(worker.stats().pool).toMatchObject({ implementation: "solo", maxConcurrency: 1, processes: [] });
    const results = Array.from({ length: 4 }, () => app.sendTask("solo.step", []));
    await Promise.all(results.map((result) => result.get({ timeout: 10_000 })));
    expect(most).toBe(1);
  });
});

describe("Job", () => {
  const makeJob = () => {
    const delivery = { queue: "q", redelivered: false } as never;
    return new Job(delivery, {} as never, {} as never, false, recordingLogger());
  };

  it("interrupt() aborts the signal without ending the run; abort() still ends it", () => {
    const job = makeJob();
    const ended: string[] = [];
    job.whenAborted(() => ended.push("run"));
    job.whenAborted(() => ended.push("child"));
    const soft = new SoftTimeLimitExceeded(1);
    job.interrupt(soft);
    expect(job.signal.aborted).toBe(true);
    expect(job.signal.reason).toBe(soft);
    expect(job.aborted).toBe(false);
    expect(ended).toEqual([]);
    job.abort(new TimeLimitExceeded(2));
    expect(ended).toEqual(["run", "child"]);
    expect(job.signal.reason).toBe(soft);
  });

  it("a listener removed before the abort is not called", () => {
    const job = makeJob();
    const ended: string[] = [];
    const remove = job.whenAborted(() => ended.push("removed"));
    job.whenAborted(() => ended.push("kept"));
    remove();
    job.abort(new TimeLimitExceeded(1));
    expect(ended).toEqual(["kept"]);
  });
});

describe("errors crossing from a child (wire-error)", () => {
  const roundTrip = <T>(error: T): unknown => decodeError(structuredClone(encodeError(error)));

  it("rebuilds a Retry with its options and its exc", () => {
    const eta = new Date(Date.now() + 60_000);
    const rebuilt = roundTrip(new Retry({ eta, maxRetries: 5, exc: new RangeError("too far") }));
    expect(rebuilt).toBeInstanceOf(Retry);
    const retry = rebuilt as Retry;
    expect(retry.options).toMatchObject({ eta, maxRetries: 5 });
    expect(retry.exc).toBeInstanceOf(Error);
    expect(retry.exc).toMatchObject({ name: "RangeError", message: "too far" });
    expect((roundTrip(new Retry({ countdown: 3, maxRetries: null })) as Retry).options).toMatchObject({
      countdown: 3,
      maxRetries: null,
    });
  });

  it("rebuilds Reject, Ignore, UnrecoverableError and time limits as this copy's classes", () => {
    const reject = roundTrip(new Reject("nope", { requeue: true }));
    expect(reject).toBeInstanceOf(Reject);
    expect(reject).toMatchObject({ requeue: true, message: "[tq] nope" });
    expect(roundTrip(new Ignore("skip"))).toBeInstanceOf(Ignore);
    expect(roundTrip(new UnrecoverableError("never"))).toBeInstanceOf(UnrecoverableError);
    expect(roundTrip(new SoftTimeLimitExceeded(3))).toMatchObject({
      seconds: 3,
      name: "SoftTimeLimitExceeded",
    });
    expect(roundTrip(new TimeLimitExceeded(4))).toBeInstanceOf(TimeLimitExceeded);
  });

  it("keeps what Celery stores of any other error: type, message, module, traceback", () => {
    class ValidationError extends Error {}
    const custom = Object.assign(new ValidationError("bad field"), {
      excModule: "myapp.errors",
      code: "E_FIELD",
    });
    const errors: unknown[] = [
      new TypeError("bad", { cause: new Error("root cause") }),
      custom,
      new TqError("TQ_CONFIG", "misconfigured", { component: "app" }),
      new TaskFailedError("abc", {
        excType: "KeyError",
        excMessage: ["k"],
        excModule: "builtins",
        remoteTraceback: "tb",
      }),
      "a thrown string",
      { thrown: "object" },
    ];
    for (const error of errors) {
      expect(errorToExceptionInfo(roundTrip(error))).toEqual(errorToExceptionInfo(error));
    }
    expect(TqError.is(roundTrip(new TqError("TQ_CONFIG", "x")), "TQ_CONFIG")).toBe(true);
    expect(roundTrip(custom)).toMatchObject({ code: "E_FIELD" });
  });
});
