// tq's worker for the MongoDB bench, exactly as an application would run it: an app on the mongodb://
// broker and result backend (@tq/mongo's MongoBroker and MongoBackend), `bench.noop` registered,
// `createWorker(app, { concurrency, queues })` with its default prefetch (concurrency × 4).
import { createWorker } from "@tq/worker";
import { exitOnSignal, progressReporter, workerParams } from "../redis/progress.mjs";
import { benchApp } from "./app.mjs";
import { QUEUES } from "./settings.mjs";

const { concurrency, expect } = workerParams();
const progress = progressReporter(expect);
const app = benchApp();
app.task("bench.noop", () => null);
const worker = createWorker(app, { concurrency, queues: [QUEUES.tq] });
worker.on("task-started", () => progress.started());
// Emitted once the result is stored (the message was acked before the task ran: Celery's early ack),
// so "done" means every result is stored.
worker.on("task-succeeded", () => progress.finished());

exitOnSignal(async () => {
  await worker.stop({ timeoutMs: 2_000 });
  await app.close();
});
worker.start().catch((error) => {
  console.error(error);
  process.exit(1);
});
