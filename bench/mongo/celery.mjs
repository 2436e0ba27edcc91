// (d) Python Celery 5 on the stand-in, through kombu's MongoDB transport and Celery's MongoDB result
// backend (pymongo): celery_bench.py is the app, the producer and the round trips; the worker is
// `python3 -m celery worker` (../celery-peer.mjs). Before any run a probe sends one message through
// kombu, reads it back and stores and reads one result; when that fails Celery is skipped with its
// error (the stand-in may lack a command pymongo or kombu needs).
import { celeryPeer, celeryPool } from "../celery-peer.mjs";
import { countDocuments } from "./helpers.mjs";
import { measureRun } from "./measure.mjs";
import { DATABASES, mongoUrl, QUEUES, settings } from "./settings.mjs";

const celery = celeryPeer(new URL(".", import.meta.url), () => ({
  TQ_BENCH_MONGO_BROKER_URL: mongoUrl(DATABASES.celery),
  TQ_BENCH_MONGO_BACKEND_URL: mongoUrl(DATABASES.celeryResults),
}));

/** Celery's version, for the header. */
export const celeryVersion = celery.version;

/** Why Celery cannot run here: no Celery 5 or pymongo, or the probe failed on the stand-in. */
export async function celeryUnavailable() {
  const missing = await celery.unavailable(["pymongo"]);
  if (missing) return missing;
  const failed = await celery.probeFails();
  return failed && `kombu's MongoDB transport cannot use the stand-in: ${failed}`;
}

/** Runs Celery at one concurrency, on `settings.celeryTasks` tasks. */
export async function runCelery(concurrency) {
  const { roundTrips, warmup, roundTripBudgetMs } = settings;
  const result = await measureRun({
    label: "celery",
    tasks: settings.celeryTasks,
    concurrency,
    enqueue: async (tasks) => (await celery.python(["enqueue", String(tasks)])).enqueueMs,
    startWorker: ({ concurrency: slots, expect }) =>
      celery.startWorker({ concurrency: slots, expect, queue: QUEUES.celery }),
    countStored: () => countDocuments(DATABASES.celeryResults, "celery_taskmeta", { status: "SUCCESS" }),
    roundTrips: async () =>
      (await celery.python(["roundtrip", String(roundTrips), String(warmup), String(roundTripBudgetMs)]))
        .latenciesMs,
  });
  return { ...result, pool: celeryPool(concurrency) };
}
