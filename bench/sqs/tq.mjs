// (b) tq: the producer is this process (`noop.delay(i)`, a window of publishes in flight, which tq's
// SQS broker sends as SendMessageBatch calls of up to 10), the worker is tq-worker.mjs in a child
// process, round trips are `await noop.delay(i).get()`. The app is app.mjs's (sqs:// and redis:// URLs).
import { spawnNodeWorker } from "../child.mjs";
import { countKeys, enqueueWindowed, timeRoundTrips } from "./helpers.mjs";
import { measureRun } from "./measure.mjs";
import { settings } from "./settings.mjs";

/** Why tq cannot run here (@tq/sqs or @tq/redis not built), or null. */
export async function tqUnavailable() {
  for (const [name, exported] of [
    ["@tq/sqs", "sqsTransport"],
    ["@tq/redis", "redisTransport"],
  ]) {
    try {
      const module = await import(name);
      if (!module[exported]) return `${name} does not export ${exported} yet`;
    } catch (error) {
      return `${name} cannot be loaded (run \`pnpm exec turbo run build --filter=${name}\`): ${error.message}`;
    }
  }
  return null;
}

/** Runs tq at one concurrency. */
export async function runTq(concurrency) {
  // Loaded only now, so that tqUnavailable() can report a package that is not built.
  const { benchApp } = await import("./app.mjs");
  const app = benchApp();
  const noop = app.task("bench.noop", () => null);
  try {
    await app.connect();
    return await measureRun({
      label: "tq",
      tasks: settings.tasks,
      concurrency,
      enqueue: (tasks) => enqueueWindowed(tasks, (i) => noop.delay(i).sent),
      startWorker: ({ concurrency: slots, expect }) =>
        spawnNodeWorker("tq worker", new URL("./tq-worker.mjs", import.meta.url), {
          BENCH_CONCURRENCY: String(slots),
          BENCH_EXPECT: String(expect),
        }),
      countStored: () => countKeys("celery-task-meta-*"),
      roundTrips: () => timeRoundTrips((i) => noop.delay(i).get({ timeoutMs: 10_000 })),
    });
  } finally {
    await app.close();
  }
}
