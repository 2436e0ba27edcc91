import {
  createApp,
  Ignore,
  Reject,
  Retry,
  type Task,
  type TaskOptions,
  TqError,
  UnrecoverableError,
} from "@tq/core";
import { describe, expect, it } from "vitest";
import { autoretry, exponentialBackoffSeconds } from "../src/autoretry.js";

class ConnectionLost extends Error {
  override name = "ConnectionLost";
}

type RetrySettings = Omit<TaskOptions, "args">;

function taskWith(options: RetrySettings): Task {
  const app = createApp({ env: false });
  return app.task("tasks.auto", () => undefined, options) as unknown as Task;
}

describe("exponentialBackoffSeconds (Celery's get_exponential_backoff_interval)", () => {
  it("doubles from the factor: 1, 2, 4, 8, 16 s", () => {
    const delays = [0, 1, 2, 3, 4].map((retries) =>
      exponentialBackoffSeconds({ factor: 1, retries, maximum: 600, fullJitter: false }),
    );
    expect(delays).toEqual([1, 2, 4, 8, 16]);
  });

  it("is capped by the maximum", () => {
    const delays = [0, 5, 9, 10, 40, 2000].map((retries) =>
      exponentialBackoffSeconds({ factor: 3, retries, maximum: 600, fullJitter: false }),
    );
    expect(delays).toEqual([3, 96, 600, 600, 600, 600]);
  });

  it("takes a fractional factor as given", () => {
    const delays = [0, 1, 2].map((retries) =>
      exponentialBackoffSeconds({ factor: 0.25, retries, maximum: 600, fullJitter: false }),
    );
    expect(delays).toEqual([0.25, 0.5, 1]);
  });

  it("with full jitter picks a whole number of seconds in [0, countdown], as randrange(countdown + 1)", () => {
    const at = (random: number) =>
      exponentialBackoffSeconds({ factor: 1, retries: 3, maximum: 600, fullJitter: true }, () => random);
    expect(at(0)).toBe(0);
    expect(at(0.5)).toBe(4);
    expect(at(0.999_999)).toBe(8);
    for (let i = 0; i < 500; i++) {
      const delay = exponentialBackoffSeconds({ factor: 1, retries: 3, maximum: 600, fullJitter: true });
      expect(Number.isInteger(delay) && delay >= 0 && delay <= 8).toBe(true);
    }
  });

  it("jitters a fractional countdown to the millisecond within [0, countdown]", () => {
    for (let i = 0; i < 500; i++) {
      const delay = exponentialBackoffSeconds({ factor: 0.2, retries: 2, maximum: 600, fullJitter: true });
      expect(delay >= 0 && delay <= 0.8).toBe(true);
      expect(Number.isInteger(Math.round(delay * 1000 * 1e6) / 1e6)).toBe(true);
    }
  });

  it("is 0 without a factor", () => {
    expect(exponentialBackoffSeconds({ factor: 0, retries: 2000, maximum: 600, fullJitter: false })).toBe(0);
  });
});

describe("autoretry (Celery's autoretry_for)", () => {
  it("turns a matching error into a Retry whose exc is the error", () => {
    const error = new ConnectionLost("gone");
    const retry = autoretry(taskWith({ autoretryFor: [ConnectionLost] }), 0, error);
    expect(retry).toBeInstanceOf(Retry);
    expect((retry as Retry).exc).toBe(error);
    expect((retry as Retry).cause).toBe(error);
    // Without retryKwargs or backoff the countdown is left to the task's defaultRetryDelay.
    expect((retry as Retry).options).toEqual({ exc: error });
  });

  it("matches subclasses, and classes by name (another copy of a module)", () => {
    class Sub extends ConnectionLost {}
    const Other = class ConnectionLost extends Error {};
    const task = taskWith({ autoretryFor: [Other] });
    expect(autoretry(task, 0, new Sub("x"))).toBeInstanceOf(Retry);
    expect(autoretry(task, 0, new ConnectionLost("x"))).toBeInstanceOf(Retry);
    expect(autoretry(taskWith({ autoretryFor: [Error] }), 0, new TypeError("x"))).toBeInstanceOf(Retry);
    const plain = new RangeError("x");
    expect(autoretry(taskWith({ autoretryFor: [TypeError] }), 0, plain)).toBe(plain);
  });

  it("takes predicates", () => {
    const task = taskWith({
      autoretryFor: [(error) => error instanceof Error && error.message.includes("503")],
    });
    expect(autoretry(task, 0, new Error("HTTP 503"))).toBeInstanceOf(Retry);
    const other = new Error("HTTP 404");
    expect(autoretry(task, 0, other)).toBe(other);
  });

  it("reports a predicate that throws as TQ_CONFIG", () => {
    const task = taskWith({
      autoretryFor: [
        () => {
          throw new Error("oops");
        },
      ],
    });
    expect(() => autoretry(task, 0, new Error("x"))).toThrow(/autoretryFor predicate threw/);
  });

  it("lets dontAutoretryFor win", () => {
    const task = taskWith({ autoretryFor: [Error], dontAutoretryFor: [ConnectionLost] });
    const error = new ConnectionLost("x");
    expect(autoretry(task, 0, error)).toBe(error);
    expect(autoretry(task, 0, new TypeError("x"))).toBeInstanceOf(Retry);
  });

  it("never retries the task's own decisions or an UnrecoverableError", () => {
    const task = taskWith({ autoretryFor: [Error] });
    for (const error of [new Retry(), new Ignore(), new Reject(), new UnrecoverableError("x")]) {
      expect(autoretry(task, 0, error)).toBe(error);
    }
  });

  it("returns the error when the task has no autoretryFor", () => {
    const error = new Error("x");
    expect(autoretry(taskWith({}), 0, error)).toBe(error);
    expect(autoretry(taskWith({ autoretryFor: [] }), 0, error)).toBe(error);
  });

  it("passes retryKwargs on", () => {
    const task = taskWith({ autoretryFor: [Error], retryKwargs: { countdown: 7, maxRetries: null } });
    const retry = autoretry(task, 0, new Error("x")) as Retry;
    expect(retry.options.countdown).toBe(7);
    expect(retry.options.maxRetries).toBeNull();
  });

  it("computes the countdown from retryBackoff and the request's retries", () => {
    const countdown = (options: RetrySettings, retries: number) =>
      (autoretry(taskWith({ autoretryFor: [Error], ...options }), retries, new Error("x")) as Retry).options
        .countdown;
    const exact = { retryJitter: false, retryKwargs: { countdown: 99 } };
    expect([0, 1, 2, 3].map((r) => countdown({ ...exact, retryBackoff: true }, r))).toEqual([1, 2, 4, 8]);
    expect([0, 1, 2, 3].map((r) => countdown({ ...exact, retryBackoff: 5 }, r))).toEqual([5, 10, 20, 40]);
    expect(countdown({ ...exact, retryBackoff: true, retryBackoffMax: 3 }, 5)).toBe(3);
    expect(countdown({ ...exact, retryBackoff: true }, 20)).toBe(600);
    expect(countdown({ ...exact, retryBackoff: false }, 3)).toBe(99);
    const jittered = (
      autoretry(taskWith({ autoretryFor: [Error], retryBackoff: true }), 3, new Error("x"), () => 0) as Retry
    ).options.countdown;
    expect(jittered).toBe(0);
  });
});

describe("retry settings", () => {
  it("are checked when the task is registered", () => {
    const app = createApp({ env: false });
    const bad: RetrySettings[] = [
      { retryBackoff: -1 },
      { retryBackoffMax: Number.NaN },
      { maxRetries: 1.5 },
      { defaultRetryDelay: -3 },
      { retryKwargs: { countdown: Number.POSITIVE_INFINITY } },
      { retryKwargs: { maxRetries: -1 } },
      { autoretryFor: ["TypeError" as unknown as typeof Error] },
      { retryJitter: "yes" as unknown as boolean },
    ];
    for (const [index, options] of bad.entries()) {
      expect(() => app.task(`tasks.bad${index}`, () => 1, options)).toThrow(
        expect.objectContaining({ code: "TQ_CONFIG" }),
      );
    }
    expect(() => app.task("tasks.good", () => 1, { retryBackoff: 0.5, maxRetries: null })).not.toThrow();
  });

  it("of a Retry are checked when it is made", () => {
    for (const options of [{ countdown: -1 }, { eta: new Date(Number.NaN) }, { maxRetries: 2.5 }]) {
      expect(() => new Retry(options)).toThrow(expect.objectContaining({ code: "TQ_CONFIG" }));
    }
  });
});

describe("task.retry()", () => {
  it("throws a Retry whose cause is exc (or cause)", () => {
    const app = createApp({ env: false });
    const task = app.task("tasks.r", () => 1);
    const exc = new Error("boom");
    const thrown = (fn: () => void): unknown => {
      try {
        fn();
      } catch (error) {
        return error;
      }
      return undefined;
    };
    const retry = thrown(() => task.retry({ exc, countdown: 5, maxRetries: 2 })) as Retry;
    expect(retry).toBeInstanceOf(Retry);
    expect(TqError.is(retry, "TQ_RETRY")).toBe(true);
    expect(retry.exc).toBe(exc);
    expect(retry.cause).toBe(exc);
    expect(retry.options).toMatchObject({ countdown: 5, maxRetries: 2 });
    expect(retry.message).toContain("Retry in 5s: Error: boom");
    expect((thrown(() => task.retry({ cause: exc })) as Retry).exc).toBe(exc);
    expect((thrown(() => task.retry()) as Retry).exc).toBeUndefined();
  });
});
