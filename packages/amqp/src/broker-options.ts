import { type Logger, noopLogger, TqError } from "@tq/core";
import type { ChannelModel, SocketOptions } from "amqplib";
import { type ParsedAmqpUrl, parseAmqpUrl } from "./url.js";

/** How the broker reconnects after it lost its connection: exponential backoff with jitter. */
export interface ReconnectOptions {
  /** Wait before the first attempt. @default 100 */
  initialDelayMs?: number;
  /** The longest wait between attempts; tq keeps trying for as long as the broker is open. @default 10_000 */
  maxDelayMs?: number;
  /** Each wait is the previous one times this. @default 2 */
  factor?: number;
  /** Each wait varies randomly by up to this fraction either way, so workers do not reconnect in lockstep. @default 0.2 */
  jitter?: number;
}

/** Options of {@link AmqpBroker} and {@link amqpBroker}. */
export interface AmqpBrokerOptions {
  /**
   * The RabbitMQ server: `amqp://`, `amqps://` or kombu's `pyamqp://`, e.g.
   * `amqp://user:password@host:5672/vhost` (`//` is the vhost `/`). Ignored when `connection` is
   * given. Celery: `broker_url`.
   * @default "amqp://guest:guest@127.0.0.1:5672//"
   */
  url?: string;
  /**
   * An amqplib connection of yours (`await amqplib.connect(…)`) to open channels on instead of
   * connecting. It is shared and never closed by the broker; since the broker cannot reopen it, a
   * broker on it stops working (TQ_CONNECTION) once it closes.
   * @default a connection opened from `url`, reopened whenever it drops
   */
  connection?: ChannelModel;
  /** `connection_name` in the client properties, shown by `rabbitmqctl list_connections` and the management UI. @default "tq-broker" */
  connectionName?: string;
  /** AMQP heartbeat; 0 turns it off. A `?heartbeat=` in the URL is used when this is not given. Celery: `broker_heartbeat`. @default 60 */
  heartbeatSeconds?: number;
  /** How long the first connection may take before `connect()` fails with TQ_CONNECTION. Celery: `broker_connection_timeout`. @default 10_000 */
  connectTimeoutMs?: number;
  /** How the broker reconnects after losing its connection (not for the first connect, which fails fast). */
  reconnect?: ReconnectOptions;
  /**
   * Resolve a publish as soon as it is written instead of when RabbitMQ confirms it (publisher
   * confirms off). Faster, but a message lost with the connection goes unnoticed. Celery:
   * `broker_transport_options["confirm_publish"]` (tq confirms by default, kombu does not).
   * @default false
   */
  noPublisherConfirms?: boolean;
  /**
   * The longest a publish waits: for the connection while RabbitMQ is away, for room in the socket,
   * and for its confirm. Past it the publish rejects (TQ_CONNECTION while disconnected, TQ_TIMEOUT
   * when the confirm does not come); it never resolves without the message being confirmed.
   * @default 30_000
   */
  publishTimeoutMs?: number;
  /**
   * `x-queue-type` of the task queues the broker declares. Quorum queues are replicated; they have
   * no priorities on RabbitMQ < 4 (so `maxPriority` is not sent for them). Celery:
   * `task_queues` with `queue_arguments={"x-queue-type": "quorum"}`.
   * @default "classic"
   */
  queueType?: "classic" | "quorum";
  /**
   * `x-max-priority` of every task queue the broker declares, unless a `QueueDeclaration` gives its
   * own; messages with a higher `priority` are served first. Celery: `task_queue_max_priority`.
   * @default none (no priorities)
   */
  maxPriority?: number;
  /**
   * `x-dead-letter-exchange` of every task queue the broker declares: a rejected message (or one
   * that expires) goes there. The exchange itself is yours to declare and bind.
   * @default none (rejected messages are dropped)
   */
  deadLetterExchange?: string;
  /**
   * Queue type of the 28 `celery_delayed_*` queues of native delayed delivery; must match how they
   * exist on the vhost. Celery: `broker_native_delayed_delivery_queue_type`.
   * @default "quorum"
   */
  delayedDeliveryQueueType?: "classic" | "quorum";
  /**
   * Extra socket options for amqplib (TLS `ca`, `cert`, `key`, `servername`…). `noDelay`
   * (TCP_NODELAY, as py-amqp sets it) is true unless given here.
   */
  socketOptions?: SocketOptions;
  /** Receives connection events, handler errors and declaration warnings. @default noopLogger */
  logger?: Logger;
}

/** The options a broker runs with, validated and with defaults applied. */
export interface ResolvedAmqpBrokerOptions {
  readonly url: ParsedAmqpUrl | null;
  readonly connection: ChannelModel | null;
  readonly connectionName: string;
  readonly heartbeatSeconds: number;
  readonly connectTimeoutMs: number;
  readonly reconnect: Required<ReconnectOptions>;
  readonly confirms: boolean;
  readonly publishTimeoutMs: number;
  readonly queueType: "classic" | "quorum";
  readonly maxPriority: number | undefined;
  readonly deadLetterExchange: string | undefined;
  readonly delayedDeliveryQueueType: "classic" | "quorum";
  readonly socketOptions: SocketOptions;
  readonly logger: Logger;
}

/** The URL a broker uses when it is given neither `url` nor `connection`. */
export const DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672//";

const KNOWN = new Set([
  "url",
  "connection",
  "connectionName",
  "heartbeatSeconds",
  "connectTimeoutMs",
  "reconnect",
  "noPublisherConfirms",
  "publishTimeoutMs",
  "queueType",
  "maxPriority",
  "deadLetterExchange",
  "delayedDeliveryQueueType",
  "socketOptions",
  "logger",
]);

/** Validates options and applies defaults; a bad value throws `TQ_CONFIG`. Does no I/O. */
export function resolveAmqpBrokerOptions(options: AmqpBrokerOptions): ResolvedAmqpBrokerOptions {
  const logger = options.logger ?? noopLogger;
  const unknown = Object.keys(options).filter((key) => !KNOWN.has(key));
  if (unknown.length > 0) {
    logger.warn("ignoring options the AMQP broker does not know", { "tq.options": unknown.join(", ") });
  }
  const connection = options.connection ?? null;
  if (connection !== null && typeof connection.createConfirmChannel !== "function") {
    throw configError("connection must be an amqplib connection (the result of amqplib.connect())");
  }
  const url = connection === null ? parseAmqpUrl(options.url ?? DEFAULT_AMQP_URL) : null;
  const urlHeartbeat = url?.connect.heartbeat;
  const reconnect = options.reconnect ?? {};
  const maxPriority = options.maxPriority;
  if (maxPriority !== undefined && (!Number.isInteger(maxPriority) || maxPriority < 1 || maxPriority > 255)) {
    throw configError(`maxPriority must be an integer from 1 to 255, got ${String(maxPriority)}`);
  }
  return {
    url,
    connection,
    connectionName: nonEmpty(options.connectionName ?? "tq-broker", "connectionName"),
    heartbeatSeconds: atLeastZero(options.heartbeatSeconds ?? urlHeartbeat ?? 60, "heartbeatSeconds"),
    connectTimeoutMs: positive(options.connectTimeoutMs ?? 10_000, "connectTimeoutMs"),
    reconnect: {
      initialDelayMs: positive(reconnect.initialDelayMs ?? 100, "reconnect.initialDelayMs"),
      maxDelayMs: positive(reconnect.maxDelayMs ?? 10_000, "reconnect.maxDelayMs"),
      factor: atLeast(reconnect.factor ?? 2, 1, "reconnect.factor"),
      jitter: fraction(reconnect.jitter ?? 0.2, "reconnect.jitter"),
    },
    confirms: options.noPublisherConfirms !== true,
    publishTimeoutMs: positive(options.publishTimeoutMs ?? 30_000, "publishTimeoutMs"),
    queueType: oneOf(options.queueType ?? "classic", "queueType"),
    maxPriority,
    deadLetterExchange:
      options.deadLetterExchange === undefined
        ? undefined
        : nonEmpty(options.deadLetterExchange, "deadLetterExchange"),
    delayedDeliveryQueueType: oneOf(options.delayedDeliveryQueueType ?? "quorum", "delayedDeliveryQueueType"),
    socketOptions: options.socketOptions ?? {},
    logger,
  };
}

function positive(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw configError(`${name} must be a positive number, got ${String(value)}`);
  }
  return value;
}

function atLeastZero(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw configError(`${name} must be an integer ≥ 0, got ${String(value)}`);
  }
  return value;
}

function atLeast(value: unknown, min: number, name: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min) {
    throw configError(`${name} must be a number ≥ ${min}, got ${String(value)}`);
  }
  return value;
}

function fraction(value: unknown, name: string): number {
  if (typeof value !== "number" || !(value >= 0 && value <= 1)) {
    throw configError(`${name} must be a number from 0 to 1, got ${String(value)}`);
  }
  return value;
}

function nonEmpty(value: unknown, name: string): string {
  if (typeof value !== "string" || value === "") {
    throw configError(`${name} must be a non-empty string, got ${JSON.stringify(value)}`);
  }
  return value;
}

function oneOf(value: unknown, name: string): "classic" | "quorum" {
  if (value !== "classic" && value !== "quorum") {
    throw configError(`${name} must be "classic" or "quorum", got ${JSON.stringify(value)}`);
  }
  return value;
}

function configError(message: string): TqError {
  return new TqError("TQ_CONFIG", message, { component: "amqp" });
}
