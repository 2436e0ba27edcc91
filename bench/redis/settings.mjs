// Settings of `pnpm bench redis`, read once from the environment. Imports nothing, so a worker
// process that reads it loads no code its peer would not.

const intList = (text) => text.split(",").map((item) => Number.parseInt(item, 10));

/** What every peer runs. Environment variables override the workload for local experiments. */
export const settings = {
  /** Redis to measure on; its DB is flushed before every run. */
  url: process.env.TQ_BENCH_REDIS_URL ?? "redis://127.0.0.1:6379/15",
  /** No-op tasks per run. */
  tasks: Number(process.env.TQ_BENCH_N ?? 20_000),
  /**
   * Tasks per Celery run: Celery drains ~1,000 tasks/s here, so 20,000 × 3 concurrencies alone would
   * take over a minute of the 3-minute budget. Rates are per second, so they stay comparable.
   */
  celeryTasks: Number(process.env.TQ_BENCH_CELERY_N ?? 5_000),
  /** Worker concurrencies, one run each. */
  concurrencies: intList(process.env.TQ_BENCH_CONCURRENCY ?? "1,10,100"),
  /** Times the whole concurrency sweep runs; more sweeps give the "best" figures more chances on a busy machine. */
  sweeps: Number(process.env.TQ_BENCH_SWEEPS ?? 1),
  /** Sequential round trips timed per run, after `warmup` untimed ones. */
  roundTrips: Number(process.env.TQ_BENCH_ROUND_TRIPS ?? 1_000),
  warmup: 50,
  /** Enqueue window: publishes in flight at once (the producer awaits each window). */
  window: 1_000,
  /** Peers to run (a development aid; the results file then holds only those). */
  peers: (process.env.TQ_BENCH_PEERS ?? "ceiling,tq,bullmq,celery").split(","),
  /** A worker that has not drained its queue by then is reported as failed. */
  drainTimeoutMs: 120_000,
};

/** Queue names, one per peer, so a stray message never reaches the wrong worker. */
export const QUEUES = {
  ceiling: "bench.ceiling",
  ceilingRoundTrip: "bench.ceiling.rt",
  ceilingReply: "bench.ceiling.reply",
  tq: "bench.tq",
  bullmq: "bench",
  celery: "bench.celery",
};

/** A result document the size of the one tq and Celery store for `bench.noop` (the ceiling's write). */
export const RESULT_DOC = JSON.stringify({
  status: "SUCCESS",
  result: null,
  traceback: null,
  children: [],
  date_done: "2026-01-01T00:00:00.000000",
  task_id: "0f4a7bd2-8c55-4c1e-9d3e-5b6a3c2d1e0f",
});

/** Milliseconds since the epoch with sub-millisecond precision, comparable across processes. */
export function epochMs() {
  return performance.timeOrigin + performance.now();
}
