import type { Logger } from "@tq/core";
import { noopLogger } from "@tq/core";
import type { MongoConnectionOptions } from "./connection.js";
import { configError } from "./errors.js";

/** Options of {@link MongoBroker}. */
export interface MongoBrokerOptions extends MongoConnectionOptions {
  /** The collection holding every queue's messages. @default "messages" */
  collection?: string;
  /**
   * How long a delivered message stays invisible to other consumers before it counts as abandoned
   * (its consumer died) and is delivered again. A consumer extends it while it holds the message, so
   * a long task is never redelivered. Celery: `visibility_timeout` (seconds) in `broker_transport_options`.
   * @default 300_000
   */
  visibilityTimeoutMs?: number;
  /** How often held messages' leases are extended. @default visibilityTimeoutMs / 3 */
  visibilityRefreshIntervalMs?: number;
  /** The first poll interval after an empty fetch; it doubles up to `maxPollIntervalMs`. Celery: `polling_interval`. @default 50 */
  pollIntervalMs?: number;
  /** The longest poll interval. @default 1_000 */
  maxPollIntervalMs?: number;
  /** Queue that rejected messages move to; unset drops them. @default undefined */
  deadLetterQueue?: string;
  /**
   * Never open change streams, even where the server offers them (replica sets): wait by polling only.
   * @default false
   */
  disableChangeStreams?: boolean;
  /** How long a broadcast copy waits for a subscriber that stopped reading before it is dropped. @default 300_000 */
  broadcastTtlMs?: number;
  /** Where the broker reports problems. @default a no-op logger */
  logger?: Logger;
}

/** Options with defaults applied. */
export interface ResolvedBrokerOptions {
  collection: string;
  visibilityTimeoutMs: number;
  visibilityRefreshIntervalMs: number;
  pollIntervalMs: number;
  maxPollIntervalMs: number;
  deadLetterQueue: string | undefined;
  disableChangeStreams: boolean;
  broadcastTtlMs: number;
  logger: Logger;
}

/** Checks and completes broker options. */
export function resolveBrokerOptions(options: MongoBrokerOptions): ResolvedBrokerOptions {
  const visibilityTimeoutMs = positive(options.visibilityTimeoutMs ?? 300_000, "visibilityTimeoutMs");
  const pollIntervalMs = positive(options.pollIntervalMs ?? 50, "pollIntervalMs");
  const collection = options.collection ?? "messages";
  if (collection === "" || collection.includes("$") || collection.includes("\0")) {
    throw configError(`"${collection}" is not a valid collection name`);
  }
  return {
    collection,
    visibilityTimeoutMs,
    visibilityRefreshIntervalMs: positive(
      options.visibilityRefreshIntervalMs ?? Math.max(1, Math.floor(visibilityTimeoutMs / 3)),
      "visibilityRefreshIntervalMs",
    ),
    pollIntervalMs,
    maxPollIntervalMs: Math.max(
      pollIntervalMs,
      positive(options.maxPollIntervalMs ?? 1_000, "maxPollIntervalMs"),
    ),
    deadLetterQueue: options.deadLetterQueue,
    disableChangeStreams: options.disableChangeStreams ?? false,
    broadcastTtlMs: positive(options.broadcastTtlMs ?? 300_000, "broadcastTtlMs"),
    logger: options.logger ?? noopLogger,
  };
}

function positive(value: number, name: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw configError(`${name} must be a number of milliseconds > 0, got ${String(value)}`);
  }
  return value;
}
