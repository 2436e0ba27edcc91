import type { Logger } from "@tq/core";
import { noopLogger } from "@tq/core";
import type { MongoConnectionOptions } from "./connection.js";
import { configError } from "./errors.js";

/** Options of {@link MongoBackend}. */
export interface MongoBackendOptions extends MongoConnectionOptions {
  /** Task results. Celery: `mongodb_backend_settings.taskmeta_collection`. @default "celery_taskmeta" */
  taskmetaCollection?: string;
  /** Saved groups. Celery: `mongodb_backend_settings.groupmeta_collection`. @default "celery_groupmeta" */
  groupmetaCollection?: string;
  /** tq's chord counters (Celery's MongoDB backend has none: it polls with `celery.chord_unlock`). @default "tq_chordmeta" */
  chordCollection?: string;
  /** How long documents live (a TTL index removes them); null keeps them. Celery: `result_expires`. @default 86_400_000 */
  resultExpiresMs?: number | null;
  /**
   * The first re-check of `waitFor` without change streams (it reads at once, then after this); it
   * doubles up to `maxPollIntervalMs`. All waits of a backend share one `find` per round.
   * @default 5
   */
  pollIntervalMs?: number;
  /** The longest poll interval of `waitFor`. @default 1_000 */
  maxPollIntervalMs?: number;
  /** Never open change streams, even where the server offers them: `waitFor` polls only. @default false */
  disableChangeStreams?: boolean;
  /** Where the backend reports problems. @default a no-op logger */
  logger?: Logger;
}

/** Options with defaults applied. */
export interface ResolvedBackendOptions {
  taskmetaCollection: string;
  groupmetaCollection: string;
  chordCollection: string;
  resultExpiresMs: number | null;
  pollIntervalMs: number;
  maxPollIntervalMs: number;
  disableChangeStreams: boolean;
  logger: Logger;
}

/** Checks and completes backend options. */
export function resolveBackendOptions(options: MongoBackendOptions): ResolvedBackendOptions {
  const pollIntervalMs = positive(options.pollIntervalMs ?? 5, "pollIntervalMs");
  return {
    taskmetaCollection: options.taskmetaCollection ?? "celery_taskmeta",
    groupmetaCollection: options.groupmetaCollection ?? "celery_groupmeta",
    chordCollection: options.chordCollection ?? "tq_chordmeta",
    resultExpiresMs: checkExpiresMs(
      options.resultExpiresMs === undefined ? 86_400_000 : options.resultExpiresMs,
      "resultExpiresMs",
    ),
    pollIntervalMs,
    maxPollIntervalMs: Math.max(
      pollIntervalMs,
      positive(options.maxPollIntervalMs ?? 1_000, "maxPollIntervalMs"),
    ),
    disableChangeStreams: options.disableChangeStreams ?? false,
    logger: options.logger ?? noopLogger,
  };
}

/** Checks an expiry: a number of ms > 0, or null for never. */
export function checkExpiresMs(value: number | null, name: string): number | null {
  if (value === null) return null;
  return positive(value, name);
}

function positive(value: number, name: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw configError(`${name} must be a number of milliseconds > 0, got ${String(value)}`);
  }
  return value;
}
