/**
 * The tq side of the canvas interop tests: the interop app (tasks.add, tasks.multiply, tasks.fail…)
 * plus the canvas tasks of test/interop/python/canvas_app.py, run by `tq worker -A`.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { currentTask } from "@tq/core";
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

/**
 * A chord member that journals `tq:member:<n>` and, unless its message is a redelivery, sleeps `ms`:
 * acksLate keeps its message in kombu's `unacked` hash meanwhile, so a test can kill its worker and
 * let another one restore and finish it.
 */
app.task(
  "tasks.slow_member",
  async (n: number, key: string, ms: number) => {
    await note(key, `tq:member:${n}`);
    if (!currentTask()?.redelivered) await sleep(ms);
    return n;
  },
  { params: ["n", "key", "ms"], acksLate: true },
);
