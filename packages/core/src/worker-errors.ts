import { TqError } from "./errors.js";

/**
 * The task passed its soft time limit (Celery's `celery.exceptions.SoftTimeLimitExceeded`). It is the
 * reason of the task's `currentTask().signal` at that moment, so `signal.throwIfAborted()`, `fetch` and
 * timers given the signal throw it; the task may catch it to clean up before its hard limit. Uncaught,
 * it becomes the task's FAILURE, stored under Celery's class name.
 */
export class SoftTimeLimitExceeded extends TqError {
  /** Importable by a Python client, so Celery raises its own class. */
  readonly excModule = "celery.exceptions";
  /** The soft limit that passed, in seconds. */
  readonly seconds: number;

  constructor(seconds: number) {
    super("TQ_SOFT_TIME_LIMIT", `SoftTimeLimitExceeded(${seconds})`);
    this.name = "SoftTimeLimitExceeded";
    this.seconds = seconds;
  }
}

/**
 * The task passed its hard time limit and was stopped (Celery's `celery.exceptions.TimeLimitExceeded`):
 * its run ended, its thread or process was killed where the pool has one.
 */
export class TimeLimitExceeded extends TqError {
  readonly excModule = "celery.exceptions";
  /** The hard limit that passed, in seconds. */
  readonly seconds: number;

  constructor(seconds: number) {
    super("TQ_TIMEOUT", `TimeLimitExceeded(${seconds})`);
    this.name = "TimeLimitExceeded";
    this.seconds = seconds;
  }
}

/**
 * The thread or child process running a task died before it reported (Celery's
 * `billiard.exceptions.WorkerLostError`): killed by a signal, out of memory, or `process.exit()`.
 */
export class WorkerLostError extends TqError {
  readonly excModule = "billiard.exceptions";

  constructor(message: string, options: { cause?: unknown } = {}) {
    super("TQ_WORKER_LOST", message, options);
    this.name = "WorkerLostError";
  }
}
