import type { PoolStats } from "./pool/pool.js";

/** A snapshot of what a worker holds, from {@link Worker.stats}. */
export interface WorkerStats {
  /** Tasks running now. */
  running: number;
  /** Due tasks waiting for a run slot. */
  waiting: number;
  /** ETA tasks held in memory until they are due (they take no run slot). */
  held: number;
  /** Due tasks waiting for a token of their task's rate limit (they take no run slot). */
  rateLimited: number;
  /** The most ETA tasks held at once since the worker was created. */
  heldPeak: number;
  /**
   * The most ETA tasks the worker will hold: `min(etaHoldLimit, prefetch − concurrency)` on a broker
   * with delayed delivery, Infinity without (the consumer's prefetch is the only bound then).
   */
  etaHoldCapacity: number;
  /** ETA tasks handed back to the broker so far (one task may be counted more than once). */
  deferred: number;
  /** Where tasks run: the pool, its concurrency and its children. Celery: `inspect stats`' `pool`. */
  pool: PoolStats;
}
