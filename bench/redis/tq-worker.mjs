// tq's worker for the bench, exactly as an application would run it: an app on RedisBroker and
// RedisBackend, `bench.noop` registered, `createWorker(app, { concurrency, queues })`.
import { createApp } from "@tq/core";
import { RedisBackend, RedisBroker } from "@tq/redis";
import { createWorker } from "@tq/worker";
import { exitOnSignal, progressReporter, workerParams } from "./progress.mjs";
import { QUEUES, settings } from "./settings.mjs";

const { concurrency, expect } = workerParams();
const progress = progressReporter(expect);
const broker = new RedisBroker({ url: settings.url });
const backend = new RedisBackend({ url: settings.url });
const app = createApp({ broker, resultBackend: backend, env: false, taskDefaultQueue: QUEUES.tq });
app.task("bench.noop", () => null);
const worker = createWorker(app, { concurrency, queues: [QUEUES.tq] });
worker.on("task-started", () => progress.started());
// Emitted once the result is stored (and before the ack), so "done" means every result is in Redis.
worker.on("task-succeeded", () => progress.finished());

exitOnSignal(async () => {
  await worker.stop({ timeoutMs: 2_000 });
  // The app does not close instances it was given.
  await Promise.all([broker.close(), backend.close()]);
});
worker.start().catch((error) => {
  console.error(error);
  process.exit(1);
});
