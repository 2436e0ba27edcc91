import type {
  LeaseAttempt,
  RecordRunOutcome,
  ScheduleEntryState,
  ScheduleSnapshot,
  ScheduleStateUpdate,
  ScheduleStore,
  StoredBeatEntry,
} from "@tq/core";

/** Options of {@link MemoryScheduleStore}. */
export interface MemoryScheduleStoreOptions {
  /** The clock leases expire by (tests pass a fake one). @default Date.now */
  now?: () => number;
}

/**
 * A {@link ScheduleStore} in this process's memory: nothing survives a restart. For tests, and for
 * several beats in one process sharing one store (each with its own lease token). `memory://`.
 */
export class MemoryScheduleStore implements ScheduleStore {
  readonly description = "memory://";
  readonly #now: () => number;
  readonly #states = new Map<string, ScheduleEntryState>();
  readonly #entries = new Map<string, StoredBeatEntry>();
  #version = 0;
  #lease: { token: string; expiresAt: number } | undefined;

  constructor(options: MemoryScheduleStoreOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  async connect(): Promise<void> {}

  async load(): Promise<ScheduleSnapshot> {
    return structuredClone({
      states: Object.fromEntries(this.#states),
      entries: Object.fromEntries(this.#entries),
      entriesVersion: String(this.#version),
    });
  }

  async entriesVersion(): Promise<string> {
    return String(this.#version);
  }

  async setEntry(name: string, entry: StoredBeatEntry): Promise<void> {
    this.#entries.set(name, structuredClone(entry));
    this.#version += 1;
  }

  async deleteEntry(name: string): Promise<boolean> {
    const existed = this.#entries.delete(name);
    this.#states.delete(name);
    if (existed) this.#version += 1;
    return existed;
  }

  async recordRuns(updates: readonly ScheduleStateUpdate[], leaseToken: string): Promise<RecordRunOutcome[]> {
    if (!this.#holds(leaseToken)) return updates.map(() => "not-leader");
    return updates.map((update) => {
      const current = this.#states.get(update.name);
      if ((current?.lastRunAt ?? null) !== update.expectedLastRunAt) return "conflict";
      this.#states.set(update.name, {
        lastRunAt: update.lastRunAt,
        totalRunCount: Math.max(0, (current?.totalRunCount ?? 0) + update.runCountDelta),
      });
      return "recorded";
    });
  }

  async acquireLease(token: string, ttlMs: number): Promise<LeaseAttempt> {
    const now = this.#now();
    const lease = this.#lease;
    if (lease && lease.token !== token && lease.expiresAt > now) {
      return { acquired: false, retryInMs: lease.expiresAt - now };
    }
    this.#lease = { token, expiresAt: now + ttlMs };
    return { acquired: true, retryInMs: 0 };
  }

  async renewLease(token: string, ttlMs: number): Promise<boolean> {
    if (!this.#holds(token)) return false;
    this.#lease = { token, expiresAt: this.#now() + ttlMs };
    return true;
  }

  async releaseLease(token: string): Promise<void> {
    if (this.#lease?.token === token) this.#lease = undefined;
  }

  async close(): Promise<void> {}

  #holds(token: string): boolean {
    return this.#lease !== undefined && this.#lease.token === token && this.#lease.expiresAt > this.#now();
  }
}
