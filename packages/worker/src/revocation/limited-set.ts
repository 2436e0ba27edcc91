/** Celery's `REVOKES_MAX`: the most revoked ids a worker remembers. */
export const REVOKES_MAX = 50_000;
/** Celery's `REVOKE_EXPIRES` (10,800 s): how long a worker remembers a revoked id, in ms. */
export const REVOKE_EXPIRES_MS = 10_800_000;

/** One remembered id and when it is forgotten (ms since the Unix epoch). */
export type LimitedSetEntry = readonly [id: string, expiresAt: number];

/** Options of {@link LimitedSet}. */
export interface LimitedSetOptions {
  /** The most members; adding one more forgets the oldest. @default REVOKES_MAX */
  maxlen?: number;
  /** How long a member is kept after it was (last) added, in ms. @default REVOKE_EXPIRES_MS */
  expiresMs?: number;
  /** The clock, for tests. @default Date.now */
  now?: () => number;
}

/**
 * A set bounded in size and in time, as Celery's `LimitedSet` that holds a worker's revoked ids:
 * adding a member again renews it; past `maxlen` the oldest go; a member older than `expiresMs` is
 * gone. Wall-clock times, so that expiries saved to the state file mean the same after a restart.
 *
 * Members are kept in the order they were (last) added, which is also their expiry order, so
 * forgetting is done from the front in amortized O(1).
 */
export class LimitedSet {
  readonly maxlen: number;
  readonly expiresMs: number;
  readonly #now: () => number;
  // id → expiry; Map iteration order is insertion order, oldest first.
  readonly #members = new Map<string, number>();

  constructor(options: LimitedSetOptions = {}) {
    this.maxlen = options.maxlen ?? REVOKES_MAX;
    this.expiresMs = options.expiresMs ?? REVOKE_EXPIRES_MS;
    this.#now = options.now ?? Date.now;
  }

  /** Members now, expired ones not yet purged included. */
  get size(): number {
    return this.#members.size;
  }

  /** Adds an id, or renews it, for `expiresMs` from now. */
  add(id: string): void {
    this.#members.delete(id);
    this.#members.set(id, this.#now() + this.expiresMs);
    this.purge();
  }

  /** True when `id` was added and has not expired or been pushed out since. */
  has(id: string): boolean {
    const expiresAt = this.#members.get(id);
    return expiresAt !== undefined && expiresAt > this.#now();
  }

  /** Forgets expired members and, past `maxlen`, the oldest ones. */
  purge(): void {
    const now = this.#now();
    for (const [id, expiresAt] of this.#members) {
      if (this.#members.size <= this.maxlen && expiresAt > now) break;
      this.#members.delete(id);
    }
  }

  /** The live members with their expiry, oldest first: what the state file keeps. */
  entries(): LimitedSetEntry[] {
    this.purge();
    return [...this.#members];
  }

  /**
   * Merges saved members (Celery's `LimitedSet.update` at boot): each keeps the later of its two
   * expiries; expired ones are dropped.
   */
  load(entries: Iterable<LimitedSetEntry>): void {
    const merged = new Map(this.#members);
    for (const [id, expiresAt] of entries) {
      merged.set(id, Math.max(expiresAt, merged.get(id) ?? Number.NEGATIVE_INFINITY));
    }
    this.#members.clear();
    for (const [id, expiresAt] of [...merged].sort((a, b) => a[1] - b[1])) this.#members.set(id, expiresAt);
    this.purge();
  }
}
