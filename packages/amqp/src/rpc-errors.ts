import { TqError, type TqErrorCode } from "@tq/core";

/** A {@link TqError} of the rpc:// backend (`[tq] [amqp] …`), with the driver's error as its cause. */
export function rpcError(code: TqErrorCode, message: string, cause?: unknown): TqError {
  return new TqError(code, message, { component: "amqp", ...(cause === undefined ? {} : { cause }) });
}

/** `TQ_CLOSED`: the backend was closed. */
export function closedError(): TqError {
  return rpcError("TQ_CLOSED", "the rpc:// result backend is closed");
}

/** `TQ_ABORTED`, with the signal's reason as the cause. */
export function abortedError(signal: AbortSignal, what: string): TqError {
  return rpcError("TQ_ABORTED", `${what} was aborted`, signal.reason);
}

/**
 * Celery's `E_NO_CHORD_SUPPORT` (celery/backends/rpc.py), raised there by `ensure_chords_allowed` and
 * by `save_group`/`restore_group`/`delete_group`: results travel to one caller's queue and are not
 * stored anywhere a chord counter or a saved group could live.
 */
export function unsupportedError(what: string): TqError {
  return rpcError(
    "TQ_CONFIG",
    `the "rpc" result backend does not support ${what}: results go to the caller's reply queue and are not stored. ` +
      "Note that a group chained with a task is also upgraded to be a chord, as this pattern requires synchronization. " +
      "Use a result backend that stores results (Redis, …) for groups and chords.",
  );
}

/** Wraps a driver error as `TQ_CONNECTION` unless it already is a TqError. */
export function connectionError(action: string, cause: unknown): TqError {
  if (TqError.is(cause)) return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return rpcError("TQ_CONNECTION", `cannot ${action}: ${detail}`, cause);
}
