/**
 * The tq side of the AMQP interop tests: the same task names as test/interop/python/celery_app.py, run
 * by `tq worker -A test/interop/tq-app.ts --broker amqp://… --result-backend rpc://|redis://…` so that a
 * Python Celery client can call them.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { createApp, currentTask } from "@tq/core";

/** The interop app; the CLI's --broker and --result-backend point it at the test's RabbitMQ. */
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

/** What the worker made of the message: eta, expires, queue and AMQP properties, for the option tests. */
app.task("tasks.request", () => {
  const request = currentTask();
  const properties = request?.message.properties;
  return {
    eta: request?.eta?.toISOString() ?? null,
    expires: request?.expires?.toISOString() ?? null,
    queue: request?.queue ?? null,
    priority: properties?.priority ?? null,
    expiration: properties?.expiration ?? null,
    replyTo: properties?.reply_to ?? null,
    correlationId: properties?.correlation_id ?? null,
    ranAt: new Date().toISOString(),
  };
});

let started = 0;

/**
 * Numbers the calls in the order this worker started them and takes `sleepMs`: with one slot, the
 * numbers show the order the broker delivered the messages in (the priority test).
 */
app.task(
  "tasks.sequence",
  async (label: string, sleepMs: number = 0) => {
    started += 1;
    const position = started;
    if (sleepMs > 0) await sleep(sleepMs);
    return { label, position };
  },
  { params: ["label", "sleep_ms"] },
);
