// (b) tq: the producer is this process (`noop.delay(i)`, a window of confirmed publishes in flight),
// the worker is tq-worker.mjs in a child process, round trips are `await noop.delay(i).get()`. The app
// is built from URLs, as an application's: amqp:// (@tq/amqp) and redis:// (@tq/redis).
import { createApp } from "@tq/core";
import { spawnNodeWorker } from "../child.mjs";
import { countKeys, enqueueWindowed, timeRoundTrips } from "./helpers.mjs";
import { measureRun } from "./measure.mjs";
import { QUEUES, settings } from "./settings.mjs";

/** Why tq cannot run here (@tq/amqp or @tq/redis not built), or null. */
export async function tqUnavailable() {
  for (const [name, exported] of [
    ["@tq/amqp", "amqpTransport"],
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
  const { amqpTransport } = await import("@tq/amqp");
  const { redisTransport } = await import("@tq/redis");
  const app = createApp({
    broker: settings.url,
    resultBackend: settings.redisUrl,
    transports: [amqpTransport, redisTransport],
    env: false,
    taskDefaultQueue: QUEUES.tq,
  });
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
