/**
 * The tq side of the canvas interop tests: the interop app (tasks.add, tasks.multiply, tasks.fail…)
 * plus the canvas tasks of test/interop/python/canvas_app.py, run by `tq worker -A`.
 */
import { Redis } from "ioredis";
import { app } from "./tq-app.js";

export { app };

let journal: Redis | undefined;

async function note(key: string, entry: string): Promise<void> {
  journal ??= new Redis(app.conf.brokerUrl);
  await journal.rpush(key, entry);
}

app.task("tasks.tsum", (values: number[]) => values.reduce((sum, value) => sum + value, 0), {
  params: ["values"],
});

/** Appends `tq:<value as JSON>` to the list `key`: a test counts how often a step ran, and where. */
app.task(
  "tasks.journal_value",
  async (value: unknown, key: string) => {
    await note(key, `tq:${JSON.stringify(value)}`);
    return value;
  },
  { params: ["value", "key"] },
);

/** An errback with one parameter (Celery sends it the failed task's id), journaled to `key`. */
app.task(
  "tasks.on_error_id",
  async (taskId: string, key: string) => {
    await note(key, `tq:${taskId}`);
    return taskId;
  },
  { params: ["task_id", "key"] },
);

/** A chord member that journals `tq:member:<n>` and sleeps, so a test can kill its worker meanwhile. */
app.task(
  "tasks.slow_member",
  async (n: number, key: string, ms: number) => {
    await note(key, `tq:member:${n}`);
    await new Promise((resolve) => setTimeout(resolve, ms));
    return n;
  },
  { params: ["n", "key", "ms"], acksLate: true },
);
