// (b) tq: the producer is this process (`noop.delay(i)`, a window of publishes in flight), the worker
// is tq-worker.mjs in a child process, round trips are `await noop.delay(i).get()`.
import { createApp } from "@tq/core";
import { spawnNodeWorker } from "../child.mjs";
import { countKeys, enqueueWindowed, timeRoundTrips } from "./helpers.mjs";
import { measureRun } from "./measure.mjs";
import { QUEUES, settings } from "./settings.mjs";

/** Why tq cannot run here (no built @tq/redis), or null. */
export async function tqUnavailable() {
  try {
    const redis = await import("@tq/redis");
    if (typeof redis.RedisBroker !== "function" || typeof redis.RedisBackend !== "function") {
      return "@tq/redis does not export RedisBroker and RedisBackend yet";
    }
    return null;
  } catch (error) {
    return `@tq/redis cannot be loaded (run \`pnpm exec turbo run build --filter=@tq/redis\`): ${error.message}`;
  }
}

/** Runs tq at one concurrency. */
export async function runTq(concurrency) {
  const { RedisBackend, RedisBroker } = await import("@tq/redis");
  const broker = new RedisBroker({ url: settings.url });
  const backend = new RedisBackend({ url: settings.url });
  const app = createApp({ broker, resultBackend: backend, env: false, taskDefaultQueue: QUEUES.tq });
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
    await Promise.all([broker.close(), backend.close()]);
  }
}
