// (d) Python Celery 5 on the stand-in, through kombu's SQS transport (boto3 and pycurl), results in
// Redis DB 13 like tq's: celery_bench.py is the app, the producer and the round trips; the worker is
// `python3 -m celery worker` (../celery-peer.mjs). Debian's kombu 5.2.4 and botocore 1.29 speak SQS's
// query (XML) protocol, fauxqs 1.9.2 only the JSON one, so Celery reaches fauxqs through the query
// gateway of @tq/sqs's interop tests (gateway-server.mjs), one loopback hop more than the other peers.
// Before any run a probe sends one message through kombu, reads it back and stores and reads one
// result; when that fails Celery is skipped with its error.
import { celeryPeer, celeryPool } from "../celery-peer.mjs";
import { countKeys } from "./helpers.mjs";
import { measureRun } from "./measure.mjs";
import { startQueryGateway } from "./server.mjs";
import { QUEUES, settings, sqsEndpoint } from "./settings.mjs";

/** The gateway Celery talks to, started by {@link celeryUnavailable}. */
let gateway;

const celery = celeryPeer(new URL(".", import.meta.url), () => ({
  // Without tq's `?region=`: kombu passes a URL's query to its Connection, which refuses `region`; the
  // region is in celery_bench.py's broker_transport_options instead.
  TQ_BENCH_SQS_URL: `sqs://bench:bench@${new URL(gateway?.endpoint ?? sqsEndpoint()).host}`,
  TQ_BENCH_REDIS_URL: settings.redisUrl,
}));

/** Celery's version, for the header. */
export const celeryVersion = celery.version;

/** Why Celery cannot run here: no Celery 5, boto3, pycurl or redis-py, or the probe failed. */
export async function celeryUnavailable() {
  const missing = await celery.unavailable(["boto3", "pycurl", "redis"]);
  if (missing) return missing;
  gateway ??= await startQueryGateway(sqsEndpoint());
  const failed = await celery.probeFails();
  if (!failed) return null;
  return `kombu's SQS transport cannot use the stand-in through the query gateway: ${failed}`;
}

/** Stops the gateway, if Celery started one. */
export async function stopCeleryGateway() {
  await gateway?.child.stop();
  gateway = undefined;
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
