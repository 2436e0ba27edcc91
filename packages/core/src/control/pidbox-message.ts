import { Buffer } from "node:buffer";
import { TqError } from "../errors.js";
import type { TransportMessage } from "../message/types.js";
import { kombuJson } from "./kombu-json.js";

/**
 * Celery's remote-control ("pidbox") request, as kombu's `Mailbox._publish` writes it
 * (celery-protocol.md §3.1): a JSON body `{method, arguments, destination, pattern, matcher}`, plus
 * `ticket` and `reply_to` only when the sender waits for replies.
 */
export interface ControlRequest {
  /** The command, e.g. `revoke`, `rate_limit`, `ping`. */
  method: string;
  /** The command's arguments by name, e.g. `{task_id, terminate, signal}` for `revoke`. */
  arguments: Record<string, unknown>;
  /** Node names the request is for; null for every node. */
  destination: string[] | null;
  /** A node-name pattern, used with {@link matcher} when there is no destination. */
  pattern: string | null;
  /** How {@link pattern} matches: `glob` (fnmatch) or `pcre` (a regular expression). */
  matcher: string | null;
  /** Correlates replies with the request; present only when replies are wanted. */
  ticket?: string;
  /** Where replies go; present only when replies are wanted. */
  replyTo?: ControlReplyTo;
}

/** Where the nodes send their replies (kombu's `reply_to`). */
export interface ControlReplyTo {
  /** The reply exchange, `reply.<control exchange>.pidbox`. */
  exchange: string;
  /** The sender's id: the routing key of its reply queue. */
  routingKey: string;
}

/** A request with the headers kombu sends beside it. */
export interface ControlEnvelope {
  /** The request. */
  request: ControlRequest;
  /** The sender's Lamport clock (`clock` header). */
  clock: number;
  /**
   * When the sender stops waiting for replies, in Unix seconds (`expires` header); 0 when it set no
   * timeout. Informational: neither kombu nor Celery's worker checks it on the receiving side.
   */
  expires: number;
}

/** Celery's `control_exchange` setting's default. */
export const DEFAULT_CONTROL_EXCHANGE = "celery";

/** The fanout exchange every node listens to: `<control exchange>.pidbox` (Celery's `celery.pidbox`). */
export function pidboxExchange(controlExchange: string = DEFAULT_CONTROL_EXCHANGE): string {
  return `${controlExchange}.pidbox`;
}

/** The direct exchange replies are published to: `reply.<control exchange>.pidbox`. */
export function pidboxReplyExchange(controlExchange: string = DEFAULT_CONTROL_EXCHANGE): string {
  return `reply.${controlExchange}.pidbox`;
}

/**
 * Builds the transport message of a control request, with the bytes Celery sends: kombu's JSON
 * (`", "` separators, fields in kombu's order), `application/json`/`utf-8`, headers `{clock, expires}`
 * and properties `{delivery_mode: 2, priority: 0}`.
 */
export function encodeControlRequest(envelope: ControlEnvelope): TransportMessage {
  const { request } = envelope;
  const body: Record<string, unknown> = {
    method: request.method,
    arguments: request.arguments,
    destination: request.destination,
    pattern: request.pattern,
    matcher: request.matcher,
  };
  if (request.ticket !== undefined) body.ticket = request.ticket;
  if (request.replyTo !== undefined) {
    body.reply_to = { exchange: request.replyTo.exchange, routing_key: request.replyTo.routingKey };
  }
  return {
    headers: { clock: envelope.clock, expires: envelope.expires },
    properties: { delivery_mode: 2, priority: 0 },
    contentType: "application/json",
    contentEncoding: "utf-8",
    body: new Uint8Array(Buffer.from(kombuJson(body), "utf8")),
  };
}

/**
 * Reads a control request from a broadcast message, sent by tq or by Celery. Throws
 * `TQ_MESSAGE_INVALID` naming what is wrong when it is not one (not JSON, no `method`, a malformed
 * `destination`), so the subscriber can log and skip it.
 */
export function decodeControlRequest(message: TransportMessage): ControlEnvelope {
  if (!/^application\/json\b/.test(message.contentType)) {
    throw invalid(`has content type "${message.contentType}"; only application/json is read`);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(message.body).toString("utf8"));
  } catch (cause) {
    throw invalid("body is not JSON", cause);
  }
  if (!isRecord(body)) throw invalid("body is not a JSON object");
  const { method, destination, pattern, matcher, ticket } = body;
  if (typeof method !== "string" || method === "") throw invalid("has no method");
  const args = body.arguments ?? {};
  if (!isRecord(args)) throw invalid(`"${method}" has arguments that are not an object`);
  const request: ControlRequest = {
    method,
    arguments: args,
    destination: readDestination(destination, method),
    pattern: optionalString(pattern, "pattern", method),
    matcher: optionalString(matcher, "matcher", method),
  };
  if (typeof ticket === "string") request.ticket = ticket;
  const replyTo = body.reply_to;
  if (isRecord(replyTo) && typeof replyTo.exchange === "string" && typeof replyTo.routing_key === "string") {
    request.replyTo = { exchange: replyTo.exchange, routingKey: replyTo.routing_key };
  }
  return {
    request,
    clock: finiteNumber(message.headers.clock),
    expires: finiteNumber(message.headers.expires),
  };
}

// Celery sends a list; a lone string (another client's shortcut) is read as a list of one, not as
// Python's substring test `hostname in "a@x"`.
function readDestination(value: unknown, method: string): string[] | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return [value];
  if (Array.isArray(value) && value.every((entry) => typeof entry === "string")) return value;
  throw invalid(`"${method}" has a destination that is not a list of node names`);
}

function optionalString(value: unknown, field: string, method: string): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return value;
  throw invalid(`"${method}" has a ${field} that is not a string`);
}

function finiteNumber(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function invalid(what: string, cause?: unknown): TqError {
  return new TqError("TQ_MESSAGE_INVALID", `control message ${what}`, {
    component: "control",
    ...(cause === undefined ? {} : { cause }),
  });
}
