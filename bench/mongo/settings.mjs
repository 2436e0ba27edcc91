// Settings of `pnpm bench mongo`, read once from the environment. Imports only the Redis bench's
// settings (which import nothing), so a worker process that reads it loads no code its peer would not.
export { epochMs } from "../redis/settings.mjs";

const intList = (text) => text.split(",").map((item) => Number.parseInt(item, 10));

/** What every peer runs. Sized so the whole MongoDB bench takes about a minute (see README.md). */
export const settings = {
  /**
   * No-op tasks per run: 200, not the Redis bench's 20,000. The stand-in has no query planner, so
   * every claim scans and sorts the whole backlog: a claim costs time in proportion to the tasks still
   * waiting, and tq drained a run of 1,000 at 35–55 tasks/s (a run of N takes time in proportion to N²).
   */
  tasks: Number(process.env.TQ_BENCH_MONGO_N ?? 200),
  /**
   * Tasks per Celery run: as many as tq's by default, unlike the other benches. With claims that scan
   * the backlog, a smaller backlog alone makes every claim cheaper, so rates are only comparable
   * between runs of the same size.
   */
  celeryTasks: Number(process.env.TQ_BENCH_MONGO_CELERY_N ?? process.env.TQ_BENCH_MONGO_N ?? 200),
  /** Worker concurrencies, one run each. */
  concurrencies: intList(process.env.TQ_BENCH_MONGO_CONCURRENCY ?? "1,10,100"),
  /** Times the whole concurrency sweep runs. */
  sweeps: Number(process.env.TQ_BENCH_SWEEPS ?? 1),
  /**
   * Sequential round trips timed per run, after `warmup` untimed ones, and within `roundTripBudgetMs`
   * (whichever ends first): without change streams every peer waits by polling, so a round trip takes
   * tens of milliseconds for tq and about a second for Celery.
   */
  roundTrips: Number(process.env.TQ_BENCH_MONGO_ROUND_TRIPS ?? 100),
  roundTripBudgetMs: Number(process.env.TQ_BENCH_MONGO_ROUND_TRIP_MS ?? 1_500),
  warmup: 1,
  /** Enqueue window: publishes in flight at once (the producer awaits each window). */
  window: 1_000,
  /** Messages reserved per concurrency slot: tq's and Celery's default prefetch multiplier (not changed). */
  prefetchMultiplier: 4,
  /** Documents per `insertMany` of the ceiling's producer. */
  insertBatch: 100,
  /**
   * An idle claim loop of the ceiling's worker polls again after this many ms times the concurrency,
   * so that the worker as a whole polls its queue 20 times a second whatever its number of loops (its
   * round-trip loop, and the bench waiting for the reply, poll every millisecond).
   */
  ceilingPollMs: 50,
  /** tq's lease (`visibilityTimeoutMs` default), given to the ceiling's claims too. */
  visibilityTimeoutMs: 300_000,
  /** Peers to run (a development aid; the results file then holds only those). */
  peers: (process.env.TQ_BENCH_PEERS ?? "ceiling,tq,celery").split(","),
  /** A worker that has not drained its queue by then is reported as failed. */
  drainTimeoutMs: 120_000,
};

/**
 * Databases, one per peer (the stand-in is the bench's own: every run drops them all). Results are
 * in a database of their own, as `mongodb://…/<db>` URLs of a broker and a backend would have them.
 */
export const DATABASES = {
  ceiling: "bench_ceiling",
  ceilingResults: "bench_ceiling_results",
  tq: "bench_tq",
  tqResults: "bench_tq_results",
  celery: "bench_celery",
  celeryResults: "bench_celery_results",
};

/** Queue names, one per peer, so a stray message never reaches the wrong worker. */
export const QUEUES = {
  ceiling: "bench.ceiling",
  ceilingRoundTrip: "bench.ceiling.rt",
  ceilingReply: "bench.ceiling.reply",
  tq: "bench.tq",
  celery: "bench.celery",
};

/**
 * The URL of the stand-in the bench started (`mongodb://127.0.0.1:<port>`), which index.mjs puts in
 * the environment every child process inherits; `database` is appended as its path.
 */
export function mongoUrl(database = "") {
  const url = process.env.BENCH_MONGO_URL;
  if (!url) throw new Error("BENCH_MONGO_URL is not set: the MongoDB stand-in was not started");
  return database ? `${url}/${database}` : url;
}
