import { Buffer } from "node:buffer";
import { type MessageProperties, TqError, type TransportMessage } from "@tq/core";
import type { Message, Options } from "amqplib";

/**
 * A task message on AMQP, as Celery (py-amqp) publishes it (celery-protocol.md §1.4): the headers
 * are the AMQP `application_headers` (a field table: JSON null is `V`, arrays `A`, objects `F`,
 * strings `S`, booleans `t`, integers `b/s/I/l`, fractions `d`); `content_type`, `content_encoding`,
 * `correlation_id`, `reply_to`, `priority`, `delivery_mode` and `expiration` are basic properties
 * (as are `message_id`, `timestamp`, `type`, `user_id` and `app_id` when present); the body is raw
 * bytes, never base64. Properties that AMQP has no field for (kombu's virtual-transport
 * `delivery_info`, `body_encoding`, `delivery_tag`) are not sent.
 */

/** amqplib publish options for a message; `delivery_mode` defaults to 2 (persistent) as Celery's tasks. */
export function toPublishOptions(message: TransportMessage): Options.Publish {
  const p = message.properties;
  const options: Options.Publish = {
    headers: encodeHeaders(message.headers),
    contentType: message.contentType,
    contentEncoding: message.contentEncoding,
    deliveryMode: p.delivery_mode ?? 2,
  };
  if (typeof p.correlation_id === "string") options.correlationId = p.correlation_id;
  if (typeof p.reply_to === "string") options.replyTo = p.reply_to;
  if (typeof p.priority === "number") options.priority = p.priority;
  if (p.expiration !== undefined && p.expiration !== null) options.expiration = String(p.expiration);
  if (typeof p.message_id === "string") options.messageId = p.message_id;
  if (typeof p.timestamp === "number") options.timestamp = p.timestamp;
  if (typeof p.type === "string") options.type = p.type;
  if (typeof p.user_id === "string") options.userId = p.user_id;
  if (typeof p.app_id === "string") options.appId = p.app_id;
  return options;
}

/** The body as a Buffer sharing the message's memory (amqplib writes it before the publish resolves). */
export function bodyBuffer(message: TransportMessage): Buffer {
  const { body } = message;
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** A message amqplib delivered, as a {@link TransportMessage}; the body shares amqplib's buffer. */
export function fromAmqpMessage(message: Message): TransportMessage {
  const p = message.properties;
  const properties: MessageProperties = {};
  if (p.correlationId !== undefined) properties.correlation_id = String(p.correlationId);
  if (p.replyTo !== undefined) properties.reply_to = String(p.replyTo);
  if (p.deliveryMode === 1 || p.deliveryMode === 2) properties.delivery_mode = p.deliveryMode;
  if (typeof p.priority === "number") properties.priority = p.priority;
  if (p.expiration !== undefined) properties.expiration = String(p.expiration);
  if (p.messageId !== undefined) properties.message_id = String(p.messageId);
  if (typeof p.timestamp === "number") properties.timestamp = p.timestamp;
  if (p.type !== undefined) properties.type = String(p.type);
  if (p.userId !== undefined) properties.user_id = String(p.userId);
  if (p.appId !== undefined) properties.app_id = String(p.appId);
  const content = message.content;
  return {
    headers: p.headers ? (decodeValue(p.headers) as Record<string, unknown>) : {},
    properties,
    // kombu hands a message without a content type over undecoded; tq says so explicitly.
    contentType: typeof p.contentType === "string" ? p.contentType : "application/octet-stream",
    contentEncoding: typeof p.contentEncoding === "string" ? p.contentEncoding : "binary",
    body: new Uint8Array(content.buffer, content.byteOffset, content.byteLength),
  };
}

// amqplib guesses field types from JS values; these are the cases where its guess is not JSON's:
// `undefined` inside an array throws (JSON writes null), NaN/-Infinity would be encoded as a 64-bit
// integer and throw (a double keeps them, as Python's floats), an object with a "!" key is taken for
// amqplib's type annotation, and a Date would become an empty table (JSON writes its ISO string).
// Unchanged values are returned as they are, so the usual all-plain headers cost one scan.
function encodeHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const key in headers) {
    const value = headers[key];
    const encoded = encodeValue(value, key);
    if (encoded !== value) {
      copy ??= { ...headers };
      copy[key] = encoded;
    }
  }
  return copy ?? headers;
}

function encodeValue(value: unknown, path: string): unknown {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isNaN(value) || value === Number.NEGATIVE_INFINITY ? { "!": "double", value } : value;
    case "bigint":
      if (value >= -(2n ** 63n) && value < 2n ** 63n) return { "!": "int64", value };
      throw serializationError(`header ${path} is a bigint outside the signed 64-bit range`);
    case "object": {
      if (value === null || Buffer.isBuffer(value)) return value;
      if (value instanceof Date) return value.toISOString();
      if (Array.isArray(value)) {
        let out: unknown[] | undefined;
        for (let i = 0; i < value.length; i++) {
          const item = value[i];
          const encoded = item === undefined ? null : encodeValue(item, `${path}[${i}]`);
          if (encoded !== item) {
            out ??= [...value];
            out[i] = encoded;
          }
        }
        return out ?? value;
      }
      if (Object.hasOwn(value, "!")) {
        throw serializationError(`header ${path} has a "!" key, which amqplib reads as a type annotation`);
      }
      let out: Record<string, unknown> | undefined;
      for (const key in value) {
        const item = (value as Record<string, unknown>)[key];
        const encoded = encodeValue(item, `${path}.${key}`);
        if (encoded !== item) {
          out ??= { ...(value as Record<string, unknown>) };
          out[key] = encoded;
        }
      }
      return out ?? value;
    }
    case "undefined":
      // amqplib leaves undefined table entries out, as JSON does.
      return value;
    default:
      throw serializationError(`header ${path} is a ${typeof value}, which AMQP cannot carry`);
  }
}

// Headers come out as plain JSON values, so a handler can pass them on (a retry, a republish) to any
// transport: byte strings (`x`) become text; amqplib's typed values become numbers — timestamps
// (`T`, e.g. the `time` of RabbitMQ's `x-death` entries) their epoch seconds, decimals (`D`) their
// value. RabbitMQ reads a republished `x-death` by key, whatever the field types.
function decodeValue(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  if (Object.hasOwn(value, "!")) {
    const typed = value as { "!": unknown; value: unknown };
    if (typed["!"] === "decimal") {
      const { places, digits } = typed.value as { places: number; digits: number };
      return digits / 10 ** places;
    }
    return typed.value;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = decodeValue(value[i]);
    return value;
  }
  const record = value as Record<string, unknown>;
  for (const key in record) record[key] = decodeValue(record[key]);
  return record;
}

function serializationError(message: string): TqError {
  return new TqError("TQ_SERIALIZATION", message, { component: "amqp" });
}
