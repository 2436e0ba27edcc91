import { TqError } from "./errors.js";
import { checkRetryOptions } from "./retry-options-check.js";

/** Options of {@link Retry} and of `task.retry()`: Celery's `Task.retry` arguments. */
export interface RetryOptions {
  /** Seconds to wait before the retry. Celery: `countdown`. @default the task's `defaultRetryDelay` */
  countdown?: number;
  /** Run the retry at this time instead. Celery: `eta`. */
  eta?: Date;
  /**
   * The error that caused the retry. Celery: `exc`. Its exception info is stored with the RETRY state,
   * and it becomes the task's failure once the retries are spent.
   */
  exc?: unknown;
  /** Another name for {@link exc}, the standard `Error` option's; `exc` wins when both are given. */
  cause?: unknown;
  /**
   * Overrides the task's `maxRetries` for this call; `null` allows any number of retries.
   * Celery: `max_retries`. @default the task's `maxRetries`
   */
  maxRetries?: number | null;
}

/**
 * Thrown by a task to be run again later (Celery's `Retry`, what `self.retry()` raises):
 * `throw task.retry({ countdown: 5, exc: error })` or `throw new Retry({ countdown: 5, exc: error })`.
 * When the task's retries are spent, its `exc` (or a `MaxRetriesExceededError` when it gave none)
 * becomes the task's failure.
 */
export class Retry extends TqError {
  /** The options it was thrown with. */
  readonly options: RetryOptions;
  /** The error that caused the retry (Celery's `Retry.exc`); also the standard `cause`. */
  readonly exc: unknown;
  /** @throws TqError `TQ_CONFIG` when `countdown`, `eta` or `maxRetries` is out of range. */
  constructor(options: RetryOptions = {}) {
    checkRetryOptions(options);
    const exc = options.exc !== undefined ? options.exc : options.cause;
    super("TQ_RETRY", retryText(options, exc), { cause: exc });
    this.name = "Retry";
    this.options = options;
    this.exc = exc;
  }
}

// As Celery's `Retry.__str__`: "Retry in 5s: ValueError('boom')".
function retryText(options: RetryOptions, exc: unknown): string {
  const when =
    options.eta !== undefined
      ? ` at ${Number.isNaN(options.eta.getTime()) ? String(options.eta) : options.eta.toISOString()}`
      : options.countdown !== undefined
        ? ` in ${options.countdown}s`
        : "";
  if (exc === undefined) return `Retry${when}`;
  return `Retry${when}: ${describeCause(exc)}`;
}

function describeCause(exc: unknown): string {
  if (exc instanceof Error) return `${exc.name}: ${exc.message}`;
  try {
    return String(exc);
  } catch {
    return typeof exc;
  }
}

/** Thrown by a task to reject its message (Celery's `Reject`): dropped, or requeued when `requeue`. */
export class Reject extends TqError {
  readonly requeue: boolean;
  constructor(reason = "rejected by task", options: { requeue?: boolean } = {}) {
    super("TQ_REJECT", reason);
    this.name = "Reject";
    this.requeue = options.requeue ?? false;
  }
}

/** Thrown by a task to end without storing any state (Celery's `Ignore`). */
export class Ignore extends TqError {
  constructor(reason = "ignored by task") {
    super("TQ_IGNORE", reason);
    this.name = "Ignore";
  }
}

/** A failure that must not be retried whatever the task's retry settings (BullMQ's `UnrecoverableError`). */
export class UnrecoverableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "UnrecoverableError";
  }
}
