import { type Logger, noopLogger } from "@tq/core";
import type { ChannelModel, SocketOptions } from "amqplib";
import { DEFAULT_AMQP_URL, type ReconnectOptions } from "./broker-options.js";
import { rpcError } from "./rpc-errors.js";
import { type ParsedAmqpUrl, parseAmqpUrl } from "./url.js";

/** Options of {@link RpcBackend} and {@link rpcBackend}. */
export interface RpcBackendOptions {
  /**
   * The AMQP server results travel through: `amqp://`, `amqps://` or kombu's `pyamqp://` (`//` is
   * the vhost `/`). Celery's `rpc://` names no server and uses the broker's; the transport plugin passes the
   * app's broker URL here. Ignored when `connection` is given.
   * @default "amqp://guest:guest@127.0.0.1:5672//"
   */
  url?: string;
  /**
   * An amqplib connection of yours to use instead of opening one. It is shared and never closed by
   * the backend (only the channels the backend opened on it are). The backend cannot reopen it: once
   * it closes, waits in progress and later calls reject with `TQ_CONNECTION`.
   * @default a connection opened from `url`, reopened with backoff when it drops
   */
  connection?: ChannelModel;
  /**
   * How long the reply queue lives unused before RabbitMQ deletes it (`x-expires`), and how long a
   * received state is kept for `get`/`waitFor`, in ms; null for no limit. Celery declares its reply
   * queue with `x-expires = result_expires`. Celery: `result_expires` (in seconds there).
   * @default 86_400_000 (one day)
   */
  resultExpiresMs?: number | null;
  /**
   * Publish results as persistent messages (`delivery_mode` 2) instead of transient ones (1). The
   * reply queue is not durable either way, as Celery's is not. Celery: `result_persistent`.
   * @default false
   */
  persistent?: boolean;
  /**
   * The most task states kept in memory for `get`/`waitFor` (the least recently used go first).
   * Celery buffers states that arrive before anyone waits for them in a map of this size
   * (`MESSAGE_BUFFER_MAX`).
   * @default 8192
   */
  maxBufferedResults?: number;
  /**
   * How long `store` keeps trying (waiting for the connection, publishing again after a lost
   * confirm) before it rejects, in ms. Celery retries a result publish 20 times, one second apart.
   * @default 20_000
   */
  publishTimeoutMs?: number;
  /** AMQP heartbeat, in seconds; 0 turns heartbeats off. Celery: `broker_heartbeat`. @default the URL's `?heartbeat=`, else 60 */
  heartbeatSeconds?: number;
  /** How long opening the connection may take, in ms. Celery: `broker_connection_timeout`. @default 10_000 */
  connectTimeoutMs?: number;
  /** Backoff of reconnections after the connection dropped (the same options as the AMQP broker's). */
  reconnect?: ReconnectOptions;
  /**
   * The connection's name in RabbitMQ's management tools (`connection_name` client property).
   * @default "tq-rpc-backend"
   */
  connectionName?: string;
  /**
   * Extra socket options for amqplib (TLS `ca`, `cert`, `key`, `servername`…). `noDelay`
   * (TCP_NODELAY, as py-amqp sets it) is true unless given here.
   */
  socketOptions?: SocketOptions;
  /** Receives connection problems and dropped results. @default noopLogger */
  logger?: Logger;
}

/** The options a backend runs with, validated and with defaults applied. */
export interface ResolvedRpcBackendOptions {
  readonly url: ParsedAmqpUrl | null;
  readonly connection: ChannelModel | null;
  readonly resultExpiresMs: number | null;
  readonly deliveryMode: 1 | 2;
  readonly maxBufferedResults: number;
  readonly publishTimeoutMs: number;
  readonly heartbeatSeconds: number;
  readonly connectTimeoutMs: number;
  readonly reconnect: Required<ReconnectOptions>;
  readonly connectionName: string;
  readonly socketOptions: SocketOptions;
  readonly logger: Logger;
}

const KNOWN = new Set<string>([
  "url",
  "connection",
  "resultExpiresMs",
  "persistent",
  "maxBufferedResults",
  "publishTimeoutMs",
  "heartbeatSeconds",
  "connectTimeoutMs",
  "reconnect",
  "connectionName",
  "socketOptions",
  "logger",
]);

/** Validates options and applies defaults; a bad value throws `TQ_CONFIG`. Does no I/O. */
export function resolveRpcBackendOptions(options: RpcBackendOptions): ResolvedRpcBackendOptions {
  const logger = options.logger ?? noopLogger;
  const unknown = Object.keys(options).filter((key) => !KNOWN.has(key));
  // Transport options arrive here from configuration; a typo should be seen, not silently ignored.
  if (unknown.length > 0) {
    logger.warn("ignoring options the rpc:// result backend does not know", {
      "tq.options": unknown.join(", "),
    });
  }
  const connection = options.connection ?? null;
  if (connection !== null && typeof connection.createConfirmChannel !== "function") {
    throw configError("connection must be an amqplib connection (the ChannelModel amqplib.connect() gives)");
  }
  const url = connection === null ? parseAmqpUrl(options.url ?? DEFAULT_AMQP_URL) : null;
  const persistent = options.persistent ?? false;
  if (typeof persistent !== "boolean") throw configError("persistent must be a boolean");
  const connectionName = options.connectionName ?? "tq-rpc-backend";
  if (typeof connectionName !== "string" || connectionName === "") {
    throw configError("connectionName must be a non-empty string");
  }
  const maxBuffered = options.maxBufferedResults ?? 8192;
  if (!Number.isInteger(maxBuffered) || maxBuffered < 1) {
    throw configError(`maxBufferedResults must be a positive integer, got ${String(maxBuffered)}`);
  }
  const reconnect = options.reconnect ?? {};
  const heartbeat = options.heartbeatSeconds ?? url?.connect.heartbeat ?? 60;
  if (!Number.isInteger(heartbeat) || heartbeat < 0) {
    throw configError(`heartbeatSeconds must be an integer ≥ 0, got ${String(heartbeat)}`);
  }
  const initialDelayMs = positive("reconnect.initialDelayMs", reconnect.initialDelayMs ?? 100);
  const maxDelayMs = positive("reconnect.maxDelayMs", reconnect.maxDelayMs ?? 10_000);
  const factor = reconnect.factor ?? 2;
  if (typeof factor !== "number" || !(factor >= 1) || !Number.isFinite(factor)) {
    throw configError(`reconnect.factor must be a number ≥ 1, got ${String(factor)}`);
  }
  const jitter = reconnect.jitter ?? 0.2;
  if (typeof jitter !== "number" || !(jitter >= 0 && jitter <= 1)) {
    throw configError(`reconnect.jitter must be a number from 0 to 1, got ${String(jitter)}`);
  }
  return {
    url,
    connection,
    resultExpiresMs: expires(options.resultExpiresMs),
    deliveryMode: persistent ? 2 : 1,
    maxBufferedResults: maxBuffered,
    publishTimeoutMs: positive("publishTimeoutMs", options.publishTimeoutMs ?? 20_000),
    heartbeatSeconds: heartbeat,
    connectTimeoutMs: positive("connectTimeoutMs", options.connectTimeoutMs ?? 10_000),
    reconnect: { initialDelayMs, maxDelayMs, factor, jitter },
    connectionName,
    socketOptions: options.socketOptions ?? {},
    logger,
  };
}

function expires(value: number | null | undefined): number | null {
  if (value === undefined) return 86_400_000;
  if (value === null) return null;
  // x-expires is a whole number of ms, at least 1.
  if (typeof value !== "number" || !Number.isFinite(value) || value < 1) {
    throw configError(`resultExpiresMs must be a number of ms ≥ 1 or null, got ${String(value)}`);
  }
  return Math.round(value);
}

function positive(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw configError(`${name} must be a positive number, got ${String(value)}`);
  }
  return value;
}

function configError(message: string) {
  return rpcError("TQ_CONFIG", message);
}
