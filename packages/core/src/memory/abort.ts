import { TqError } from "../errors.js";

/** The `TQ_ABORTED` error for an aborted signal, with its reason as the cause. */
export function abortedError(signal: AbortSignal): TqError {
  return new TqError("TQ_ABORTED", "the operation was aborted", {
    component: "memory",
    cause: signal.reason,
  });
}

/** Throws `TQ_ABORTED` when the signal is already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortedError(signal);
}
