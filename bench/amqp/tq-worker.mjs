// tq's worker for the AMQP bench, exactly as an application would run it: an app on the amqp:// broker
// (@tq/amqp's AmqpBroker) and the redis:// result backend (@tq/redis's RedisBackend), `bench.noop`
// registered, `createWorker(app, { concurrency, queues })` with its default prefetch (concurrency × 4).
import { amqpTransport } from "@tq/amqp";
import { createApp } from "@tq/core";
import { redisTransport } from "@tq/redis";
import { createWorker } from "@tq/worker";
import { exitOnSignal, progressReporter, workerParams } from "../redis/progress.mjs";
import { QUEUES, settings } from "./settings.mjs";

const { concurrency, expect } = workerParams();
const progress = progressReporter(expect);
const app = createApp({
  broker: settings.url,
  resultBackend: settings.redisUrl,
  transports: [amqpTransport, redisTransport],
  env: false,
  taskDefaultQueue: QUEUES.tq,
});
app.task("bench.noop", () => null);
const worker = createWorker(app, { concurrency, queues: [QUEUES.tq] });
worker.on("task-started", () => progress.started());
// Emitted once the result is stored (and before the ack), so "done" means every result is in Redis.
worker.on("task-succeeded", () => progress.finished());

exitOnSignal(async () => {
  await worker.stop({ timeoutMs: 2_000 });
  await app.close();
});
worker.start().catch((error) => {
  console.error(error);
  process.exit(1);
});
