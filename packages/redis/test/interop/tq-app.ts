/**
 * The tq side of the interop tests: the same task names as test/interop/python/celery_app.py, run by
 * `tq worker -A test/interop/tq-app.ts --broker … --result-backend …` so that a Python Celery client
 * can call them.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { createApp, currentTask } from "@tq/core";
import { Redis } from "ioredis";

/** The interop app; the CLI's --broker and --result-backend point it at the test's Redis DB. */
export const app = createApp({ name: "interop", resultExtended: true });

/** A failure whose name is no Python builtin: Python clients get a class Celery makes up for it. */
export class QuotaExceededError extends Error {
  override name = "QuotaExceededError";
}

app.task("tasks.add", (x: number, y: number) => x + y, { params: ["x", "y"] });

app.task("tasks.multiply", (x: number, y: number) => x * y, { params: ["x", "y"] });

// A TypeError is stored as {exc_type: "TypeError", exc_module: "builtins"}: Python raises its own TypeError.
app.task(
  "tasks.fail",
  (message: string = "bad input") => {
    throw new TypeError(message);
  },
  { params: ["message"] },
);

app.task(
  "tasks.fail_custom",
  (message: string = "over quota") => {
    throw new QuotaExceededError(message);
  },
  { params: ["message"] },
);

/** Returns what it received, as the Python tasks.echo does: positional arguments only (no params). */
app.task("tasks.echo", (...args: unknown[]) => ({ args, kwargs: currentTask()?.kwargs ?? {} }));

/** What the worker made of the message: its eta, expires and queue, for the apply_async option tests. */
app.task("tasks.request", () => {
  const request = currentTask();
  return {
    eta: request?.eta?.toISOString() ?? null,
    expires: request?.expires?.toISOString() ?? null,
    queue: request?.queue ?? null,
    ranAt: new Date().toISOString(),
  };
});

let journal: Redis | undefined;

/**
 * Appends `tq:<n>` to the list `key` on the broker's Redis, sleeps `sleepMs`, and names the runtime:
 * a test sharing one queue between tq and Python workers counts the list to prove every call ran once.
 */
app.task(
  "tasks.journal",
  async (n: number, key: string, sleepMs: number = 0) => {
    journal ??= new Redis(app.conf.brokerUrl);
    await journal.rpush(key, `tq:${n}`);
    if (sleepMs > 0) await sleep(sleepMs);
    return { n, runtime: "tq", worker: currentTask()?.hostname ?? null };
  },
  { params: ["n", "key", "sleep_ms"] },
);

/**
 * Journals `tq:<redelivered>` to `key`, then sleeps `seconds` unless this is a redelivery. acksLate keeps
 * the message in kombu's `unacked` hash while it runs, so a worker killed meanwhile leaves it there for
 * another worker, Python or tq, to restore once the visibility timeout passed.
 */
app.task(
  "tasks.hold",
  async (key: string, seconds: number) => {
    const redelivered = currentTask()?.redelivered ?? false;
    journal ??= new Redis(app.conf.brokerUrl);
    await journal.rpush(key, `tq:${redelivered ? 1 : 0}`);
    if (!redelivered) await sleep(seconds * 1000);
    return { runtime: "tq", redelivered };
  },
  { acksLate: true },
);

/** A failure tasks.retry_twice retries by itself (`autoretryFor`). */
export class ServiceUnavailable extends Error {
  override name = "ServiceUnavailable";
}

/** Fails twice with ServiceUnavailable, retried by `autoretryFor`, then returns how often it was retried. */
app.task(
  "tasks.retry_twice",
  () => {
    const retries = currentTask()?.retries ?? 0;
    if (retries < 2) throw new ServiceUnavailable(`attempt ${retries}`);
    return retries;
  },
  { autoretryFor: [ServiceUnavailable], retryKwargs: { countdown: 0.1 } },
);

/** Always asks for a retry with a TypeError: once its one retry is spent, Python gets that TypeError. */
const retrySpent = app.task("tasks.retry_spent", (message: string = "still failing") => {
  throw retrySpent.retry({ exc: new TypeError(message), countdown: 0.1, maxRetries: 1 });
});
