import { Buffer } from "node:buffer";
import { decodeEnvelope, encodeEnvelope, type TransportMessage } from "@tq/core";

/**
 * kombu's SQS `MessageBody`: the JSON envelope (shared/celery-protocol.md §1.6), base64-encoded as
 * kombu's `sqs_base64_encoding=True` default does, or as it is when `raw` is set.
 */
export function encodeMessageBody(
  message: TransportMessage,
  route: { exchange: string; routingKey: string; deliveryTag: string },
  raw: boolean,
): string {
  const envelope = encodeEnvelope(message, route);
  return raw ? envelope : Buffer.from(envelope, "utf8").toString("base64");
}

/**
 * Reads a `MessageBody` the way kombu does: base64 of the envelope, or the envelope itself. A body
 * that is neither is handed over as raw bytes (`application/octet-stream`), so the worker dead-letters
 * it with a log line instead of dropping it.
 */
export function decodeMessageBody(body: string): { message: TransportMessage; valid: boolean } {
  const text = body.trimStart().startsWith("{") ? body : Buffer.from(body, "base64").toString("utf8");
  try {
    return { message: withoutRedeliveredHeader(decodeEnvelope(text).message), valid: true };
  } catch {
    return {
      message: {
        headers: {},
        properties: {},
        contentType: "application/octet-stream",
        contentEncoding: "binary",
        body: new Uint8Array(Buffer.from(body, "utf8")),
      },
      valid: false,
    };
  }
}

// A `redelivered` header some kombu transports add is reported as Delivery.redelivered instead.
function withoutRedeliveredHeader(message: TransportMessage): TransportMessage {
  if (!("redelivered" in message.headers)) return message;
  const { redelivered: _redelivered, ...headers } = message.headers;
  return { ...message, headers };
}
