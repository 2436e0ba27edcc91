import type { BeatEntryOptions, BeatScheduleJSON } from "./beat-schedule.js";
import type { Logger } from "./logger.js";

/**
 * Where beat keeps what must outlive a process: when each periodic entry last ran, the entries added
 * at run time, and the lease that lets one beat of several send. `@tq/beat` has a file and an in-memory
 * store; `@tq/redis` and `@tq/mongo` serve `redis://` and `mongodb://` URLs through their transport
 * plugins' `createScheduleStore`. Core declares the contract so that no store package depends on
 * the scheduler (Kysely's dialect rule).
 *
 * Exactly-once comes from {@link ScheduleStore.recordRuns}: beat records a run (a compare-and-set on the
 * entry's last run time, fenced by the lease token) before it sends, so two beats can never both send
 * the same run, and a restarted beat continues from the recorded time.
 */
export interface ScheduleStore {
  /** Where the store is, for logs: `file /var/lib/app/beat.json`, `redis://host:6379/0`… */
  readonly description: string;
  /** Opens connections. Safe to call more than once. */
  connect(options?: { signal?: AbortSignal }): Promise<void>;
  /** Reads every entry's state and the entries added at run time. */
  load(): Promise<ScheduleSnapshot>;
  /** The current version of the run-time entries: it changes whenever one is added or removed. */
  entriesVersion(): Promise<string>;
  /** Adds or replaces a run-time entry. */
  setEntry(name: string, entry: StoredBeatEntry): Promise<void>;
  /** Removes a run-time entry and its state; false when there was none. */
  deleteEntry(name: string): Promise<boolean>;
  /**
   * Applies state updates, each only if the entry's stored `lastRunAt` still equals `expectedLastRunAt`
   * (null: no state yet) and only while `leaseToken` holds the lease. Resolves with one outcome per
   * update, in order. Atomic per update; a store may apply them all in one round trip.
   */
  recordRuns(updates: readonly ScheduleStateUpdate[], leaseToken: string): Promise<RecordRunOutcome[]>;
  /**
   * Takes the lease for `ttlMs` when it is free or already `token`'s (then it is renewed). When another
   * holder has it, resolves with `acquired: false` and how long that lease has left, so a waiting beat
   * sleeps until it could expire instead of polling.
   */
  acquireLease(token: string, ttlMs: number): Promise<LeaseAttempt>;
  /** Extends the lease if `token` still holds it; false when it was lost (expired and taken). */
  renewLease(token: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up if `token` holds it, so another beat takes over at once. */
  releaseLease(token: string): Promise<void>;
  /** Closes what the store opened (never a client that was passed in). */
  close(): Promise<void>;
}

/** What a store holds for one entry. */
export interface ScheduleEntryState {
  /**
   * When it last ran, in ms since the epoch: the time its run was due (or, after downtime, when the
   * catch-up run was sent), or when beat first saw the entry. Celery: `last_run_at`.
   */
  lastRunAt: number;
  /** How many times beat sent it. Celery: `total_run_count`. */
  totalRunCount: number;
}

/** A periodic entry added at run time, as a store keeps it (JSON only). */
export interface StoredBeatEntry {
  /** Task name. */
  task: string;
  /** The schedule's JSON form (`Schedule.toJSON()`). */
  schedule: BeatScheduleJSON;
  /** Positional arguments. */
  args?: unknown[];
  /** Keyword arguments. */
  kwargs?: Record<string, unknown>;
  /** Send options (JSON values only: `expires` in seconds). */
  options?: Omit<BeatEntryOptions, "expires"> & { expires?: number };
  /** IANA time zone of the entry. */
  timezone?: string;
}

/** Everything a store holds, read at once. */
export interface ScheduleSnapshot {
  /** State by entry name. */
  states: Record<string, ScheduleEntryState>;
  /** Run-time entries by name. */
  entries: Record<string, StoredBeatEntry>;
  /** {@link ScheduleStore.entriesVersion} at the time of the read. */
  entriesVersion: string;
}

/** One compare-and-set of {@link ScheduleStore.recordRuns}. */
export interface ScheduleStateUpdate {
  /** Entry name. */
  name: string;
  /** The `lastRunAt` the caller read; null when the entry had no state. */
  expectedLastRunAt: number | null;
  /** The new `lastRunAt`. */
  lastRunAt: number;
  /** Added to `totalRunCount`: 1 for a run, -1 to undo one whose send failed, 0 to only set the time. */
  runCountDelta: number;
}

/**
 * `recorded`: applied. `conflict`: the stored time was not the expected one (another beat recorded
 * first, or the entry was removed). `not-leader`: the token does not hold the lease.
 */
export type RecordRunOutcome = "recorded" | "conflict" | "not-leader";

/** The outcome of {@link ScheduleStore.acquireLease}. */
export interface LeaseAttempt {
  /** True when the caller holds the lease now. */
  acquired: boolean;
  /** When not acquired: how long the current lease has left, in ms (at most its TTL). */
  retryInMs: number;
}

/** What a transport's `createScheduleStore` receives besides the URL. */
export interface ScheduleStoreFactoryOptions {
  /**
   * Keeps the state of one app apart from others on the same server: beat passes the app's name.
   * Stores use it in their key prefix or document ids.
   */
  namespace: string;
  /** Logger for the store. */
  logger?: Logger;
}
