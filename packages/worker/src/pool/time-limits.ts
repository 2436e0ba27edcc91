import type { Job } from "../job.js";

/** A task's time limits in seconds; null for none. */
export interface TimeLimits {
  /** Hard limit: the run ends, FAILURE `TimeLimitExceeded`. Celery: `time_limit`. */
  readonly hard: number | null;
  /** Soft limit: the task's signal aborts with `SoftTimeLimitExceeded`. Celery: `soft_time_limit`. */
  readonly soft: number | null;
}

/**
 * The limits of one run, each taken as Celery takes it: the call's `timelimit` header, else the task's
 * option, else the worker's (`--time-limit`, `task_time_limit`). 0 means none at that level, as
 * Celery's `or` chain reads it.
 */
export function timeLimitsFor(job: Job, worker: TimeLimits): TimeLimits {
  const [hard, soft] = job.message.timeLimit;
  const { timeLimit, softTimeLimit } = job.task.options;
  return {
    hard: firstLimit(hard, timeLimit, worker.hard),
    soft: firstLimit(soft, softTimeLimit, worker.soft),
  };
}

function firstLimit(...candidates: (number | null | undefined)[]): number | null {
  for (const value of candidates) {
    if (typeof value === "number" && value > 0 && Number.isFinite(value)) return value;
  }
  return null;
}
