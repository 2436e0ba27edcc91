import type { ExceptionInfo } from "@tq/core";

/**
 * The `celery.exceptions` classes the worker stores by name, so that a Python client raises the same
 * exception a Celery worker would have given it.
 */
export type CeleryExceptionType =
  | "NotRegistered"
  | "TimeLimitExceeded"
  | "TaskRevokedError"
  | "MaxRetriesExceededError"
  | "Retry";

/** Exception info for one of Celery's own exceptions, with its constructor arguments. */
export function celeryException(type: CeleryExceptionType, args: unknown[]): ExceptionInfo {
  return { exc_type: type, exc_message: args, exc_module: "celery.exceptions" };
}

/** A one-line traceback for failures the worker itself produced, in Python's last-line format. */
export function celeryTraceback(type: CeleryExceptionType, message: string): string {
  return `celery.exceptions.${type}: ${message}\n`;
}
