import type { App, BeatScheduleEntry, Logger, ScheduleStore } from "@tq/core";
import { checkTimezone, TqError } from "@tq/core";

/**
 * What beat does with runs that came due while no beat was leading (beat down, or a leader died
 * and the lease had not expired yet):
 * - `once`: send each such entry once when beat leads again, then go on from then (Celery's behaviour);
 * - `skip`: send nothing for them and go on with the next run time after now.
 */
export type MissedRunPolicy = "once" | "skip";

/** Options of {@link createBeat}. */
export interface BeatOptions {
  /**
   * Where last-run times, run-time entries and the lease live: a {@link ScheduleStore}, or a URL or
   * path for `scheduleStoreFromUrl` (`redis://host:6379/0`, `mongodb://host/db`, `memory://`, a file
   * path). A store passed as an object is left open by `stop()`. Celery: `-s` / `--scheduler`.
   * @default a file store at the app's `beatScheduleFilename`, relative to the current directory
   */
  store?: ScheduleStore | string;
  /** Entries beside the app's `beatSchedule`; a name in both is an error. @default {} */
  entries?: Record<string, BeatScheduleEntry>;
  /** IANA time zone of crontab schedules that name none. Celery: `timezone`. @default app `timezone` */
  timezone?: string;
  /** See {@link MissedRunPolicy}. @default "once" */
  missedRuns?: MissedRunPolicy;
  /**
   * How long the lease lasts without renewal, ms: if the leader dies, another beat takes over at most
   * this long after its last renewal. Must exceed pauses of the event loop and clock differences
   * between machines (MongoDB leases use the beats' clocks). @default 30_000
   */
  leaseTtlMs?: number;
  /** How often the leader renews its lease and looks for entries added elsewhere, ms. @default leaseTtlMs / 3 */
  leaseRenewIntervalMs?: number;
  /** Longest sleep between checks of the schedule, ms. Celery: `beat_max_loop_interval`. @default app `beatMaxLoopInterval` × 1000 */
  maxIntervalMs?: number;
  /** Logger. @default the app's */
  logger?: Logger;
  /** Directory a relative schedule file is resolved against. @default process.cwd() */
  cwd?: string;
  /** The wall clock, ms since the epoch (tests pass a fake one; vitest's fake timers also work). @default Date.now */
  now?: () => number;
}

/** Options with defaults applied. */
export interface ResolvedBeatOptions {
  readonly timezone: string;
  readonly missedRuns: MissedRunPolicy;
  readonly leaseTtlMs: number;
  readonly leaseRenewIntervalMs: number;
  readonly maxIntervalMs: number;
  readonly logger: Logger;
  readonly now: () => number;
}

/** Checks options against the app's settings; throws `TQ_CONFIG` for a bad value. */
export function resolveBeatOptions(app: App, options: BeatOptions): ResolvedBeatOptions {
  const timezone = options.timezone ?? app.conf.timezone;
  checkTimezone(timezone);
  const missedRuns = options.missedRuns ?? "once";
  if (missedRuns !== "once" && missedRuns !== "skip") {
    throw configError(`missedRuns must be "once" or "skip", got ${JSON.stringify(missedRuns)}`);
  }
  const leaseTtlMs = positive(options.leaseTtlMs ?? 30_000, "leaseTtlMs");
  const leaseRenewIntervalMs = positive(
    options.leaseRenewIntervalMs ?? leaseTtlMs / 3,
    "leaseRenewIntervalMs",
  );
  if (leaseRenewIntervalMs >= leaseTtlMs) {
    throw configError(
      `leaseRenewIntervalMs (${leaseRenewIntervalMs}) must be below leaseTtlMs (${leaseTtlMs})`,
    );
  }
  return {
    timezone,
    missedRuns,
    leaseTtlMs,
    leaseRenewIntervalMs,
    maxIntervalMs: positive(options.maxIntervalMs ?? app.conf.beatMaxLoopInterval * 1000, "maxIntervalMs"),
    logger: options.logger ?? app.logger,
    now: options.now ?? Date.now,
  };
}

function positive(value: number, name: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw configError(`${name} must be a positive number of ms, got ${String(value)}`);
  }
  return value;
}

function configError(message: string): TqError {
  return new TqError("TQ_CONFIG", message, { component: "beat" });
}
