import { Buffer } from "node:buffer";
import { TqError } from "../errors.js";
import type { MessageProperties, TransportMessage } from "./types.js";

/**
 * kombu's JSON envelope, the form a message takes on its "virtual" transports (Redis, SQS, MongoDB):
 * `{"body": <base64>, "content-encoding", "content-type", "headers", "properties": {…,
 * "delivery_info": {exchange, routing_key}, "body_encoding": "base64", "delivery_tag"}}`.
 * See shared/celery-protocol.md §1.2. Transports store the string this produces verbatim.
 */
export interface EnvelopeRoute {
  /** Exchange the message was published to (`""` for the default exchange). */
  exchange: string;
  /** Routing key it was published with. */
  routingKey: string;
  /** kombu's `delivery_tag`: a uuid naming this delivery in the `unacked` bookkeeping. */
  deliveryTag: string;
}

/** What {@link decodeEnvelope} returns. */
export interface DecodedEnvelope extends EnvelopeRoute {
  /** The message, body decoded from base64. */
  message: TransportMessage;
  /** True when a transport restored the message after a consumer held it (kombu sets `redelivered`). */
  redelivered: boolean;
}

/** Serializes a message as kombu's envelope. Keys follow kombu's order so captures read alike. */
export function encodeEnvelope(message: TransportMessage, route: EnvelopeRoute): string {
  const { delivery_info: _info, body_encoding: _encoding, delivery_tag: _tag, ...rest } = message.properties;
  const properties: Record<string, unknown> = {
    ...rest,
    delivery_info: { exchange: route.exchange, routing_key: route.routingKey },
    body_encoding: "base64",
    delivery_tag: route.deliveryTag,
  };
  return JSON.stringify({
    body: Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength).toString(
      "base64",
    ),
    "content-encoding": message.contentEncoding,
    "content-type": message.contentType,
    headers: message.headers,
    properties,
  });
}

/**
 * Parses kombu's envelope. Throws `TQ_MESSAGE_INVALID` when the text is not an envelope, so a
 * transport can hand the raw payload to the worker's dead-letter path instead of losing it.
 */
export function decodeEnvelope(text: string): DecodedEnvelope {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw malformed("is not JSON", cause);
  }
  if (!isRecord(parsed)) throw malformed("is not a JSON object");
  const properties = isRecord(parsed.properties) ? parsed.properties : {};
  const headers = isRecord(parsed.headers) ? parsed.headers : {};
  const info = isRecord(properties.delivery_info) ? properties.delivery_info : {};
  const rawBody = parsed.body;
  let body: Uint8Array;
  if (typeof rawBody !== "string") throw malformed("has no string body");
  if (properties.body_encoding === "base64") {
    body = new Uint8Array(Buffer.from(rawBody, "base64"));
  } else {
    // kombu writes base64 always; an envelope without it carries the body as text.
    body = new Uint8Array(Buffer.from(rawBody, "utf8"));
  }
  const { delivery_info: _info, body_encoding: _encoding, delivery_tag: tag, ...rest } = properties;
  return {
    message: {
      headers,
      properties: rest as MessageProperties,
      contentType: typeof parsed["content-type"] === "string" ? parsed["content-type"] : "application/json",
      contentEncoding: typeof parsed["content-encoding"] === "string" ? parsed["content-encoding"] : "utf-8",
      body,
    },
    exchange: typeof info.exchange === "string" ? info.exchange : "",
    routingKey: typeof info.routing_key === "string" ? info.routing_key : "",
    deliveryTag: typeof tag === "string" ? tag : "",
    redelivered: headers.redelivered === true || info.redelivered === true,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function malformed(what: string, cause?: unknown): TqError {
  return new TqError("TQ_MESSAGE_INVALID", `message envelope ${what}`, cause ? { cause } : undefined);
}
