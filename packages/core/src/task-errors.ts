import { TqError } from "./errors.js";

/** Options of {@link Retry}. */
export interface RetryOptions {
  /** Seconds to wait before the retry. @default the task's `defaultRetryDelay` */
  countdown?: number;
  /** Run the retry at this time instead. */
  eta?: Date;
  /** The error that caused the retry; stored with the RETRY state and raised when retries run out. */
  cause?: unknown;
  /** Overrides the task's `maxRetries` for this call. */
  maxRetries?: number;
}

/**
 * Thrown by a task to be run again later (Celery's `self.retry()`): `throw new Retry({ countdown: 5 })`.
 * When the task's retries are exhausted the `cause` (or a `MaxRetriesExceededError`) becomes its failure.
 */
export class Retry extends TqError {
  readonly options: RetryOptions;
  constructor(options: RetryOptions = {}) {
    super(
      "TQ_RETRY",
      `retry requested${options.countdown === undefined ? "" : ` in ${options.countdown}s`}`,
      {
        cause: options.cause,
      },
    );
    this.name = "Retry";
    this.options = options;
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
