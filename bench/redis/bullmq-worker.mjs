// BullMQ's worker for the bench: `new Worker(queue, processor, { concurrency })` with a no-op
// processor. Completed jobs are kept with their return value (BullMQ's default removeOnComplete:
// false), so results are stored as for tq and Celery.
import { Worker } from "bullmq";
import { Redis } from "ioredis";
import { exitOnSignal, progressReporter, workerParams } from "./progress.mjs";
import { QUEUES, settings } from "./settings.mjs";

const { concurrency, expect } = workerParams();
const progress = progressReporter(expect);
const connection = new Redis(settings.url, { maxRetriesPerRequest: null });
const worker = new Worker(QUEUES.bullmq, async () => null, { connection, concurrency });
worker.on("active", () => progress.started());
// Emitted after the job moved to "completed" with its return value.
worker.on("completed", () => progress.finished());
worker.on("error", (error) => console.error(error));

exitOnSignal(async () => {
  await worker.close();
  connection.disconnect();
});
