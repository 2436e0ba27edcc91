import { TqError, toError } from "../errors.js";
import type { TransportMessage } from "../message/types.js";

/**
 * Deep-copies a value with `structuredClone`, so that what the memory transport holds never shares
 * objects with its callers (a real broker would have serialized it). Rejects functions, symbols and
 * class instances that cannot be cloned with a `TQ_SERIALIZATION` error.
 */
export function cloneValue<T>(value: T, what: string): T {
  try {
    return structuredClone(value);
  } catch (error) {
    throw new TqError("TQ_SERIALIZATION", `${what} cannot be copied: ${toError(error).message}`, {
      component: "memory",
      cause: error,
    });
  }
}

/** Deep-copies a transport message, body bytes included. */
export function cloneMessage(message: TransportMessage): TransportMessage {
  if (!(message.body instanceof Uint8Array)) {
    throw new TqError("TQ_MESSAGE_INVALID", "message body must be a Uint8Array", { component: "memory" });
  }
  return {
    headers: cloneValue(message.headers, "message headers"),
    properties: cloneValue(message.properties, "message properties"),
    contentType: message.contentType,
    contentEncoding: message.contentEncoding,
    // Copies only the view's bytes: structuredClone would copy a pooled Buffer's whole backing store.
    body: new Uint8Array(message.body),
  };
}
