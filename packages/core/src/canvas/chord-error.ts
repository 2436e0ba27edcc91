import { TqError } from "../errors.js";
import type { ExceptionInfo } from "../result-backend.js";

/**
 * A chord's body could not run (Celery's `celery.exceptions.ChordError`, code `TQ_CHORD_ERROR`): a
 * header member failed (`Dependency <id> raised ValueError('boom')`) or the body could not be sent
 * (`Callback error: …`). The worker stores it as the body's FAILURE and gives it to the body's
 * errbacks; `AsyncResult.get()` on the body then rejects with a `TaskFailedError` whose `excType` is
 * `ChordError`.
 */
export class ChordError extends TqError {
  /** Celery's message, without tq's prefix: what is stored as the exception's argument. */
  readonly reason: string;
  /** Stored as Celery's class, so Python clients raise `celery.exceptions.ChordError`. */
  readonly excType = "ChordError";
  readonly excModule = "celery.exceptions";

  constructor(reason: string) {
    super("TQ_CHORD_ERROR", reason, { component: "canvas" });
    this.name = "ChordError";
    this.reason = reason;
  }

  /** The exception as Celery stores it: `{exc_type: "ChordError", exc_message: [reason], exc_module}`. */
  toExceptionInfo(): ExceptionInfo {
    return { exc_type: this.excType, exc_message: [this.reason], exc_module: this.excModule };
  }
}
