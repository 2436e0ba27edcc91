import { TqError, type TqErrorCode } from "@tq/core";

/** A `[tq] [sqs] …` error. */
export function sqsError(code: TqErrorCode, message: string, cause?: unknown): TqError {
  return new TqError(code, message, { component: "sqs", ...(cause === undefined ? {} : { cause }) });
}

/**
 * Wraps an SDK error: a TqError passes as it is, an abort becomes TQ_ABORTED, a time-out TQ_TIMEOUT,
 * missing or bad credentials and invalid parameters TQ_CONFIG, anything else TQ_CONNECTION.
 */
export function wrapSdkError(action: string, cause: unknown): TqError {
  if (TqError.is(cause)) return cause;
  const error = cause as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = error?.name ?? "";
  const text = `cannot ${action}: ${name ? `${name}: ` : ""}${error?.message ?? String(cause)}`;
  if (name === "AbortError") return sqsError("TQ_ABORTED", text, cause);
  if (name === "TimeoutError" || /timed? ?out/i.test(error?.message ?? "")) {
    return sqsError("TQ_TIMEOUT", text, cause);
  }
  if (CONFIG_ERRORS.has(name)) return sqsError("TQ_CONFIG", text, cause);
  return sqsError("TQ_CONNECTION", text, cause);
}

const CONFIG_ERRORS = new Set([
  "CredentialsProviderError",
  "InvalidClientTokenId",
  "UnrecognizedClientException",
  "SignatureDoesNotMatch",
  "AccessDenied",
  "AccessDeniedException",
  "InvalidParameterValue",
  "InvalidAttributeName",
  "InvalidAttributeValue",
  "QueueDoesNotExist",
  "AWS.SimpleQueueService.NonExistentQueue",
  "QueueNameExists",
  "InvalidMessageContents",
  "MessageTooLong",
]);

/** Throws TQ_ABORTED when the signal is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw sqsError("TQ_ABORTED", "the operation was aborted", signal.reason);
}
