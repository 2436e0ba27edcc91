// Settings of `pnpm bench sqs`, read once from the environment. Imports only the Redis bench's
// settings (which import nothing), so a worker process that reads it loads no code its peer would not.
export { epochMs, RESULT_DOC } from "../redis/settings.mjs";

const intList = (text) => text.split(",").map((item) => Number.parseInt(item, 10));

/** What every peer runs. Sized so the whole SQS bench takes under a minute (see README.md). */
export const settings = {
  /** The region in every client's configuration (fauxqs accepts any, and any credentials). */
  region: "us-east-1",
  /**
   * Result store of tq (SQS keeps no results), Celery and ceiling+store, flushed before every run:
   * DB 13, not the Redis bench's 15 or the AMQP bench's 14, so no bench flushes another's keys.
   */
  redisUrl: process.env.TQ_BENCH_SQS_REDIS_URL ?? "redis://127.0.0.1:6379/13",
  /**
   * No-op tasks per run: 1,000, not the Redis bench's 20,000. Every SQS call is an HTTP request of a few
   * milliseconds to a JavaScript stand-in, and tq at concurrency 1 drains about 100 tasks/s here (it
   * waits for each early ack, a DeleteMessage), so 5,000 would take a minute for that run alone. Rates
   * are per second and stay comparable.
   */
  tasks: Number(process.env.TQ_BENCH_SQS_N ?? 1_000),
  /**
   * Tasks per Celery run: kombu 5.2 enqueues about 80/s and drains 50–140/s here (one botocore call per
   * message, through the query gateway), so 200 keep its three runs near half a minute.
   */
  celeryTasks: Number(process.env.TQ_BENCH_SQS_CELERY_N ?? 200),
  /** Worker concurrencies, one run each. */
  concurrencies: intList(process.env.TQ_BENCH_SQS_CONCURRENCY ?? "1,10,100"),
  /** Times the whole concurrency sweep runs. */
  sweeps: Number(process.env.TQ_BENCH_SWEEPS ?? 1),
  /**
   * Sequential round trips timed per run, after `warmup` untimed ones: 100, not the Redis bench's
   * 1,000, since one takes 15–25 ms on the stand-in (four or five HTTP requests).
   */
  roundTrips: Number(process.env.TQ_BENCH_SQS_ROUND_TRIPS ?? 100),
  warmup: 20,
  /** Enqueue window: publishes in flight at once (the producer awaits each window). */
  window: 1_000,
  /** Messages reserved per concurrency slot: tq's and Celery's default prefetch multiplier. */
  prefetchMultiplier: 4,
  /** Long-poll wait of every receive: tq's default (`waitTimeSeconds`), given to the ceiling too. */
  waitTimeSeconds: 20,
  /** Peers to run (a development aid; the results file then holds only those). */
  peers: (process.env.TQ_BENCH_PEERS ?? "ceiling,tq,celery").split(","),
  /** A worker that has not drained its queue by then is reported as failed. */
  drainTimeoutMs: 120_000,
};

/**
 * Queue names, one per peer, so a stray message never reaches the wrong worker. tq's and Celery's are
 * the Celery queue names (SQS names `bench-tq`, `bench-celery` after kombu's mapping); the ceiling's
 * are SQS names.
 */
export const QUEUES = {
  ceiling: "bench-ceiling",
  ceilingRoundTrip: "bench-ceiling-rt",
  ceilingReply: "bench-ceiling-reply",
  tq: "bench.tq",
  celery: "bench.celery",
};

/**
 * The endpoint of the fauxqs the bench started (`http://127.0.0.1:<port>`), which index.mjs puts in
 * the environment every child process inherits.
 */
export function sqsEndpoint() {
  const endpoint = process.env.BENCH_SQS_ENDPOINT;
  if (!endpoint) throw new Error("BENCH_SQS_ENDPOINT is not set: the SQS stand-in was not started");
  return endpoint;
}

/** tq's and Celery's broker URL for that endpoint (fauxqs takes any credentials). */
export function sqsUrl() {
  return `sqs://bench:bench@${new URL(sqsEndpoint()).host}?region=${settings.region}`;
}
