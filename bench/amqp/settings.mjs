// Settings of `pnpm bench amqp`, read once from the environment. Imports only the Redis bench's
// settings (which import nothing), so a worker process that reads it loads no code its peer would not.
export { epochMs, RESULT_DOC } from "../redis/settings.mjs";

const intList = (text) => text.split(",").map((item) => Number.parseInt(item, 10));

/** The bench's own vhost: created (with guest's permissions) when missing, so nothing else is touched. */
export const BENCH_VHOST = "tq-bench";

/** What every peer runs. Sized so the whole AMQP bench takes about a minute (see README.md). */
export const settings = {
  /** RabbitMQ to measure on; the bench deletes its queues before and after every run. */
  url: process.env.TQ_BENCH_AMQP_URL ?? `amqp://guest:guest@127.0.0.1:5672/${BENCH_VHOST}`,
  /** Whether the URL is the default one, whose vhost the bench may create with rabbitmqctl. */
  defaultUrl: process.env.TQ_BENCH_AMQP_URL === undefined,
  /**
   * Result store of tq, Celery and ceiling+store, flushed before every run: DB 14, not the Redis
   * bench's 15, so the two benches never flush each other's keys when run side by side.
   */
  redisUrl: process.env.TQ_BENCH_AMQP_REDIS_URL ?? "redis://127.0.0.1:6379/14",
  /** No-op tasks per run (fewer than the Redis bench's 20,000 to fit the time budget; rates are per second). */
  tasks: Number(process.env.TQ_BENCH_AMQP_N ?? 10_000),
  /** Tasks per Celery run. */
  celeryTasks: Number(process.env.TQ_BENCH_AMQP_CELERY_N ?? 2_000),
  /** Worker concurrencies, one run each. */
  concurrencies: intList(process.env.TQ_BENCH_AMQP_CONCURRENCY ?? "1,10,100"),
  /** Times the whole concurrency sweep runs. */
  sweeps: Number(process.env.TQ_BENCH_SWEEPS ?? 1),
  /** Sequential round trips timed per run, after `warmup` untimed ones. */
  roundTrips: Number(process.env.TQ_BENCH_AMQP_ROUND_TRIPS ?? 1_000),
  warmup: 50,
  /** Enqueue window: publishes in flight at once (the producer awaits each window). */
  window: 1_000,
  /** Messages reserved per concurrency slot: tq's and Celery's default prefetch multiplier, given to the ceiling too. */
  prefetchMultiplier: 4,
  /** Peers to run (a development aid; the results file then holds only those). */
  peers: (process.env.TQ_BENCH_PEERS ?? "ceiling,tq,celery").split(","),
  /** A worker that has not drained its queue by then is reported as failed. */
  drainTimeoutMs: 120_000,
};

/** Queue names, one per peer, so a stray message never reaches the wrong worker. */
export const QUEUES = {
  ceiling: "bench.ceiling",
  ceilingRoundTrip: "bench.ceiling.rt",
  ceilingReply: "bench.ceiling.reply",
  tq: "bench.tq",
  celery: "bench.celery",
};
