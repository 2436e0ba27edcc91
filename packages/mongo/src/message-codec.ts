import type { TransportMessage } from "@tq/core";
import { Binary, type ObjectId } from "mongodb";

/**
 * A message as the `payload` field stores it: headers and properties as BSON documents (so they can
 * be queried and read in `mongosh`), the body as BSON Binary (byte-exact, whatever its encoding).
 */
export interface PayloadDocument {
  headers: Record<string, unknown>;
  properties: Record<string, unknown>;
  contentType: string;
  contentEncoding: string;
  body: Binary;
}

/** One message document of the broker's collection. */
export interface MessageDocument {
  _id: ObjectId;
  /** The queue it waits in. */
  queue: string;
  /** `properties.priority` (0 when unset); higher numbers are served first, as in kombu's MongoDB transport. */
  priority: number;
  /** Not delivered before this instant (`deliverAt`, else the publish time). */
  visibleAt: Date;
  /** The consumer holding it, or null while it waits. */
  owner: string | null;
  /** Until when `owner` holds it; after that any consumer may take it again. */
  deadline: Date | null;
  /** How often it was handed out; above 1 it is a redelivery. */
  deliveries: number;
  payload: PayloadDocument;
  /** Removed by the TTL index after this instant (broadcast copies only). */
  expiresAt?: Date;
}

/** Encodes a message for the `payload` field. BSON serialization copies everything it is given. */
export function encodePayload(message: TransportMessage): PayloadDocument {
  return {
    headers: message.headers,
    properties: message.properties,
    contentType: message.contentType,
    contentEncoding: message.contentEncoding,
    body: new Binary(message.body),
  };
}

/** Decodes the `payload` field back into the message that was published. */
export function decodePayload(payload: PayloadDocument): TransportMessage {
  return {
    headers: payload.headers ?? {},
    properties: payload.properties ?? {},
    contentType: payload.contentType,
    contentEncoding: payload.contentEncoding,
    body: bytesOf(payload.body),
  };
}

/** The bytes of a BSON Binary, as a fresh Uint8Array. */
export function bytesOf(binary: Binary | Uint8Array): Uint8Array {
  if (binary instanceof Uint8Array) return new Uint8Array(binary);
  return new Uint8Array(binary.buffer.subarray(0, binary.position));
}

/** The priority field of a message: its `properties.priority` when it is a finite number, else 0. */
export function priorityOf(message: TransportMessage): number {
  const priority = message.properties.priority;
  return typeof priority === "number" && Number.isFinite(priority) ? priority : 0;
}
