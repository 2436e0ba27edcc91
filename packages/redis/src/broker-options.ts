import { type Logger, noopLogger, TqError } from "@tq/core";
import type { ClusterOptions, RedisOptions } from "ioredis";
import type { RedisClient } from "./connection.js";
import { type ParsedRedisUrl, parseRedisUrl } from "./url.js";

/** Options of {@link RedisBroker} and {@link redisBroker}. */
export interface RedisBrokerOptions {
  /**
   * Where the queues live: `redis://`, `rediss://`, `redis+sentinel://` or `redis+cluster://`. A
   * `?global_keyprefix=` query parameter sets {@link RedisBrokerOptions.keyPrefix} when that is not
   * given. Ignored when `client` is given. Celery: `broker_url`.
   * @default "redis://127.0.0.1:6379/0"
   */
  url?: string;
  /**
   * A client of yours to use instead of opening one. It is shared and never closed by the broker; the
   * broker opens one duplicate of it (`client.duplicate()`) for pub/sub and closes that itself.
   * ioredis' own `keyPrefix` is refused (`TQ_CONFIG`): use {@link RedisBrokerOptions.keyPrefix}, which
   * also prefixes pub/sub channels.
   * @default a client opened from `url`
   */
  client?: RedisClient;
  /**
   * Prepended, as it is, to every key and pub/sub channel the broker uses, as kombu does with it.
   * Celery: `broker_transport_options["global_keyprefix"]`.
   * @default ""
   */
  keyPrefix?: string;
  /**
   * How long a message taken by a consumer that stops extending it (a worker that died) stays invisible
   * before any consumer puts it back in its queue. A living consumer extends the messages it holds, so
   * long tasks and ETA waits never run twice. Restoring covers every queue of the database, Python
   * workers' messages included, so give every worker sharing the queues the same value.
   * Celery: `broker_transport_options["visibility_timeout"]` (in seconds there).
   * @default 3_600_000 (one hour, as kombu)
   */
  visibilityTimeoutMs?: number;
  /**
   * How often an idle consumer looks at its queues. Messages published by tq wake consumers at once
   * (pub/sub); messages from other producers (Python Celery clients) and messages restored after a
   * visibility timeout are picked up within this interval.
   * @default 100
   */
  pollIntervalMs?: number;
  /**
   * Priority buckets: a message of priority p goes to the list of the largest step ≤ p (clamped to
   * 0..9), and LOWER numbers are served first, as in Celery's Redis transport. Ascending integers in
   * 0..9 starting with 0. Celery: `broker_transport_options["priority_steps"]`.
   * @default [0, 3, 6, 9]
   */
  prioritySteps?: readonly number[];
  /**
   * How often messages held past the visibility timeout by consumers that went away are put back.
   * It also runs when a consumer starts. kombu: on every 10th idle poll.
   * @default min(visibilityTimeoutMs / 2, 60_000)
   */
  restoreIntervalMs?: number;
  /**
   * How often a living broker refreshes the visibility of every message its consumers hold.
   * @default min(visibilityTimeoutMs / 4, 5_000)
   */
  visibilityRefreshIntervalMs?: number;
  /** Receives handler errors, routing warnings and connection problems. @default noopLogger */
  logger?: Logger;
  /** Extra ioredis options for the client opened from `url` (TLS, timeouts, `connectionName`…). */
  redisOptions?: RedisOptions;
  /** Extra ioredis Cluster options when `url` is a `redis+cluster://` URL. */
  clusterOptions?: ClusterOptions;
}

/** The options a broker runs with, validated and with defaults applied. */
export interface ResolvedBrokerOptions {
  /** The parsed URL, when the broker opens its own client. */
  readonly url: ParsedRedisUrl | null;
  readonly client: RedisClient | null;
  readonly keyPrefix: string;
  readonly visibilityTimeoutMs: number;
  readonly pollIntervalMs: number;
  readonly prioritySteps: readonly number[];
  readonly restoreIntervalMs: number;
  readonly visibilityRefreshIntervalMs: number;
  readonly logger: Logger;
  readonly redisOptions: RedisOptions | undefined;
  readonly clusterOptions: ClusterOptions | undefined;
}

const DEFAULT_URL = "redis://127.0.0.1:6379/0";
const DEFAULT_VISIBILITY_TIMEOUT_MS = 3_600_000;
const DEFAULT_POLL_INTERVAL_MS = 100;
const DEFAULT_PRIORITY_STEPS = Object.freeze([0, 3, 6, 9]);

/** Validates options and applies defaults; a bad value throws `TQ_CONFIG`. Does no I/O. */
export function resolveBrokerOptions(options: RedisBrokerOptions): ResolvedBrokerOptions {
  const client = options.client ?? null;
  if (client !== null && (typeof client !== "object" || typeof client.duplicate !== "function")) {
    throw configError("client must be an ioredis Redis or Cluster client");
  }
  // ioredis prefixes keys but not pub/sub channels: wake-ups and broadcasts would miss each other,
  // and Python would not find the keys.
  const clientOptions = (
    client as { options?: { keyPrefix?: string; redisOptions?: { keyPrefix?: string } } }
  )?.options;
  const ioredisPrefix =
    clientOptions?.keyPrefix ||
    clientOptions?.redisOptions?.keyPrefix ||
    options.redisOptions?.keyPrefix ||
    options.clusterOptions?.keyPrefix;
  if (ioredisPrefix) {
    throw configError(
      "ioredis's keyPrefix option is not supported: use the broker's keyPrefix option instead",
    );
  }
  const url = client === null ? parseRedisUrl(options.url ?? DEFAULT_URL) : null;
  const keyPrefix = options.keyPrefix ?? url?.query.global_keyprefix ?? "";
  if (typeof keyPrefix !== "string") throw configError(`keyPrefix must be a string, got ${typeof keyPrefix}`);
  const visibilityTimeoutMs = positive(
    options.visibilityTimeoutMs ?? DEFAULT_VISIBILITY_TIMEOUT_MS,
    "visibilityTimeoutMs",
  );
  return {
    url,
    client,
    keyPrefix,
    visibilityTimeoutMs,
    pollIntervalMs: positive(options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS, "pollIntervalMs"),
    prioritySteps: checkSteps(options.prioritySteps ?? DEFAULT_PRIORITY_STEPS),
    restoreIntervalMs: positive(
      options.restoreIntervalMs ?? Math.min(visibilityTimeoutMs / 2, 60_000),
      "restoreIntervalMs",
    ),
    visibilityRefreshIntervalMs: positive(
      options.visibilityRefreshIntervalMs ?? Math.min(visibilityTimeoutMs / 4, 5_000),
      "visibilityRefreshIntervalMs",
    ),
    logger: options.logger ?? noopLogger,
    redisOptions: options.redisOptions,
    clusterOptions: options.clusterOptions,
  };
}

function positive(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw configError(`${name} must be a positive number of ms, got ${String(value)}`);
  }
  return value;
}

// kombu looks steps up with bisect, so they must ascend; a first step other than 0 would send low
// priorities to the last bucket there (Python's steps[-1]), so tq insists on 0.
function checkSteps(steps: unknown): readonly number[] {
  const valid =
    Array.isArray(steps) &&
    steps[0] === 0 &&
    steps.every(
      (step, i) => Number.isInteger(step) && step >= 0 && step <= 9 && (i === 0 || step > steps[i - 1]),
    );
  if (!valid) {
    throw configError(
      `prioritySteps must be ascending integers in 0..9 starting with 0, got ${JSON.stringify(steps)}`,
    );
  }
  return Object.freeze([...(steps as number[])]);
}

function configError(message: string): TqError {
  return new TqError("TQ_CONFIG", message, { component: "redis" });
}
