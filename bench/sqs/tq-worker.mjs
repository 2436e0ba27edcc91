// tq's worker for the SQS bench, exactly as an application would run it: an app on the sqs:// broker
// (@tq/sqs's SqsBroker) and the redis:// result backend (@tq/redis's RedisBackend), `bench.noop`
// registered, `createWorker(app, { concurrency, queues })` with its default prefetch (concurrency × 4).
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
// Emitted once the result is stored (the message was deleted before the task ran: Celery's early ack),
// so "done" means every result is in Redis.
worker.on("task-succeeded", () => progress.finished());

// A graceful stop waits for the long poll under way, up to 20 s (`waitTimeSeconds`): the figures are
// taken by then, so the process gives it half a second and exits (writing its --cpu-prof profile).
exitOnSignal(() =>
  Promise.race([
    worker.stop({ timeoutMs: 2_000 }).then(() => app.close()),
    new Promise((resolve) => setTimeout(resolve, 500)),
  ]),
);
worker.start().catch((error) => {
  console.error(error);
  process.exit(1);
});
