// (d) Python Celery 5 on the stand-in, through kombu's SQS transport (boto3 and pycurl), results in
// Redis DB 13 like tq's: celery_bench.py is the app, the producer and the round trips; the worker is
// `python3 -m celery worker` (../celery-peer.mjs). Before any run a probe sends one message through
// kombu, reads it back and stores and reads one result; when that fails Celery is skipped with its
// error. With Debian's kombu 5.2.4 and botocore 1.29 it does fail on fauxqs 1.9.2: they speak SQS's
// query (XML) protocol, and fauxqs serves SQS over the JSON protocol only.
import { celeryPeer, celeryPool } from "../celery-peer.mjs";
import { countKeys } from "./helpers.mjs";
import { measureRun } from "./measure.mjs";
import { QUEUES, settings, sqsUrl } from "./settings.mjs";

const celery = celeryPeer(new URL(".", import.meta.url), () => ({
  // Without tq's `?region=`: kombu passes a URL's query to its Connection, which refuses `region`; the
  // region is in celery_bench.py's broker_transport_options instead.
  TQ_BENCH_SQS_URL: sqsUrl().split("?")[0],
  TQ_BENCH_REDIS_URL: settings.redisUrl,
}));

/** Celery's version, for the header. */
export const celeryVersion = celery.version;

/** Why Celery cannot run here: no Celery 5, boto3, pycurl or redis-py, or the probe failed. */
export async function celeryUnavailable() {
  const missing = await celery.unavailable(["boto3", "pycurl", "redis"]);
  if (missing) return missing;
  const failed = await celery.probeFails();
  if (!failed) return null;
  const why = /Unknown action/.test(failed)
    ? " (fauxqs serves SQS over the JSON protocol only; kombu 5.2 speaks the query protocol, through botocore 1.29 and pycurl, and fauxqs hands those form-encoded requests to its SNS emulation)"
    : "";
  return `kombu's SQS transport cannot use the stand-in: ${failed}${why}`;
}

/** Runs Celery at one concurrency, on `settings.celeryTasks` tasks. */
export async function runCelery(concurrency) {
  const result = await measureRun({
    label: "celery",
    tasks: settings.celeryTasks,
    concurrency,
    enqueue: async (tasks) => (await celery.python(["enqueue", String(tasks)])).enqueueMs,
    startWorker: ({ concurrency: slots, expect }) =>
      celery.startWorker({ concurrency: slots, expect, queue: QUEUES.celery }),
    countStored: () => countKeys("celery-task-meta-*"),
    roundTrips: async () =>
      (await celery.python(["roundtrip", String(settings.roundTrips), String(settings.warmup)])).latenciesMs,
  });
  return { ...result, pool: celeryPool(concurrency) };
}
