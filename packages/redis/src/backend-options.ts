import { type Logger, noopLogger, TqError } from "@tq/core";
import type { ClusterOptions, RedisOptions } from "ioredis";
import type { RedisClient } from "./connection.js";
import { type ParsedRedisUrl, parseRedisUrl } from "./url.js";

/** Options of {@link RedisBackend} and {@link redisBackend}. */
export interface RedisBackendOptions {
  /**
   * Where results live: `redis://`, `rediss://`, `redis+sentinel://` or `redis+cluster://`. A
   * `?global_keyprefix=` query parameter sets {@link RedisBackendOptions.keyPrefix} when that is not given.
   * Ignored when `client` is given. Celery: `result_backend`.
   * @default "redis://127.0.0.1:6379/0"
   */
  url?: string;
  /**
   * A client of yours to use instead of opening one. It is shared, never closed by the backend; the
   * backend opens one duplicate of it (`client.duplicate()`) for pub/sub and closes that itself.
   * @default a client opened from `url`
   */
  client?: RedisClient;
  /**
   * Prepended to every key and pub/sub channel. As Celery ≥5.3 does for result backends, a `_` is
   * added when the prefix does not end in one of `:`, `_`, `-`, `.` (`"app"` → `app_celery-task-meta-…`),
   * so Python and tq agree on key names for the same setting.
   * Celery: `result_backend_transport_options["global_keyprefix"]`.
   * @default ""
   */
  keyPrefix?: string;
  /**
   * How long result documents, saved groups and chord counters are kept, in ms; null keeps them
   * forever (SET without a TTL). Whole seconds are written with SETEX, as Celery does; other values
   * with PSETEX. `StoreResultOptions.expiresMs` overrides it per document.
   * Celery: `result_expires` (in seconds there).
   * @default 86_400_000 (one day)
   */
  resultExpiresMs?: number | null;
  /**
   * Keep a chord's finished header parts in a sorted set scored by their header position (true), or
   * in a list in completion order (false), as Celery's option of the same name does. With false,
   * Celery's list members carry no header position, so `ChordProgress.parts` come in completion
   * order and their `index` is that order.
   * Celery: `result_backend_transport_options["result_chord_ordered"]`.
   * @default true
   */
  chordOrdered?: boolean;
  /** Receives connection problems and ignored writes. @default noopLogger */
  logger?: Logger;
  /** Extra ioredis options for the client opened from `url` (TLS, timeouts…). */
  redisOptions?: RedisOptions;
  /** Extra ioredis Cluster options when `url` is a `redis+cluster://` URL. */
  clusterOptions?: ClusterOptions;
}

/** The options a backend runs with, validated and with defaults applied. */
export interface ResolvedBackendOptions {
  /** The parsed URL, when the backend opens its own client. */
  readonly url: ParsedRedisUrl | null;
  readonly client: RedisClient | null;
  /** The effective prefix, Celery's separator rule applied. */
  readonly keyPrefix: string;
  readonly resultExpiresMs: number | null;
  readonly chordOrdered: boolean;
  readonly logger: Logger;
  readonly redisOptions: RedisOptions | undefined;
  readonly clusterOptions: ClusterOptions | undefined;
}

const DEFAULT_URL = "redis://127.0.0.1:6379/0";
const DEFAULT_EXPIRES_MS = 86_400_000;

/** Validates options and applies defaults; a bad value throws `TQ_CONFIG`. Does no I/O. */
export function resolveBackendOptions(options: RedisBackendOptions): ResolvedBackendOptions {
  const client = options.client ?? null;
  if (client !== null && (typeof client !== "object" || typeof client.duplicate !== "function")) {
    throw configError("client must be an ioredis Redis or Cluster client");
  }
  // ioredis prefixes keys but not SUBSCRIBE channels, so waits would listen on the wrong channel
  // (BullMQ refuses it for the same kind of reason).
  const clientOptions = (
    client as { options?: { keyPrefix?: string; redisOptions?: { keyPrefix?: string } } }
  )?.options;
  if (
    clientOptions?.keyPrefix ||
    clientOptions?.redisOptions?.keyPrefix ||
    options.redisOptions?.keyPrefix ||
    options.clusterOptions?.keyPrefix
  ) {
    throw configError(
      "ioredis's keyPrefix option is not supported: use the backend's keyPrefix option instead",
    );
  }
  const url = client === null ? parseRedisUrl(options.url ?? DEFAULT_URL) : null;
  const keyPrefix = options.keyPrefix ?? url?.query.global_keyprefix ?? "";
  if (typeof keyPrefix !== "string") throw configError(`keyPrefix must be a string, got ${typeof keyPrefix}`);
  const chordOrdered = options.chordOrdered ?? true;
  if (typeof chordOrdered !== "boolean") {
    throw configError(`chordOrdered must be a boolean, got ${typeof chordOrdered}`);
  }
  return {
    url,
    client,
    keyPrefix: celeryKeyPrefix(keyPrefix),
    resultExpiresMs: checkExpiresMs(
      options.resultExpiresMs === undefined ? DEFAULT_EXPIRES_MS : options.resultExpiresMs,
      "resultExpiresMs",
    ),
    chordOrdered,
    logger: options.logger ?? noopLogger,
    redisOptions: options.redisOptions,
    clusterOptions: options.clusterOptions,
  };
}

/** Checks an expiry in ms: a positive finite number, or null for none. */
export function checkExpiresMs(value: unknown, name: string): number | null {
  if (value === null) return null;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw configError(`${name} must be a positive number of ms or null, got ${String(value)}`);
  }
  return value;
}

// Celery ≥5.3 (`KeyValueStoreBackend._add_global_keyprefix`) separates the prefix with `_` unless it
// already ends in a separator; kombu's broker keys use the prefix as it is, but backend keys do not.
function celeryKeyPrefix(prefix: string): string {
  if (prefix === "" || ":_-.".includes(prefix.at(-1) as string)) return prefix;
  return `${prefix}_`;
}

function configError(message: string): TqError {
  return new TqError("TQ_CONFIG", message, { component: "redis" });
}
