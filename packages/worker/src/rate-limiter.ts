import { performance } from "node:perf_hooks";
import { TokenBucket } from "./rate-limit-bucket.js";
import { setLongTimeout } from "./timers.js";

/** How a {@link RateLimiter} finds rates and lets items through. */
export interface RateLimiterOptions<T> {
  /** Called with each item let through, in the order items of one key were admitted. */
  readonly release: (item: T) => void;
  /** The rate of a key seen for the first time, in items per second; 0 for none. Must not throw. */
  readonly rateFor: (key: string) => number;
  /**
   * Items let through at once when they reach the head of their line, without a token (an expired
   * task, which will not run, should not use up a run of its task type).
   * @default none
   */
  readonly bypass?: (item: T) => boolean;
  /** A clock in milliseconds, for tests. @default performance.now */
  readonly now?: () => number;
}

interface Line<T> {
  /** Items per second; 0 for none. */
  rate: number;
  bucket: TokenBucket | null;
  readonly waiting: T[];
  /** Cancels the timer armed for the next token, if one is. */
  cancelTimer: (() => void) | undefined;
}

/**
 * Rate limits per key (a task name): each key has a token bucket of capacity 1 and a FIFO of items
 * waiting for a token, as Celery's consumer keeps one bucket per task type (`task_buckets`). An item
 * whose bucket has a token is released at once; the others wait, and one timer per key (never polling)
 * releases the head of its line when the next token is due. Lines do not wait on each other.
 */
export class RateLimiter<T> {
  readonly #options: RateLimiterOptions<T>;
  readonly #now: () => number;
  readonly #lines = new Map<string, Line<T>>();
  #waitingCount = 0;
  #closed = false;

  constructor(options: RateLimiterOptions<T>) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Items waiting for a token, over every key. */
  get waiting(): number {
    return this.#waitingCount;
  }

  /** The rate of a key now, in items per second (0 for none). */
  rateOf(key: string): number {
    return this.#line(key).rate;
  }

  /** Releases the item now if its key has a token (or no limit), else queues it behind the key's line. */
  admit(key: string, item: T): void {
    const line = this.#line(key);
    if (this.#closed || line.bucket === null) {
      this.#options.release(item);
      return;
    }
    line.waiting.push(item);
    this.#waitingCount++;
    if (line.cancelTimer === undefined) this.#drain(line);
  }

  /**
   * Changes a key's rate (0 for none), for the items already waiting too: they are released at the new
   * rate from now on, or all at once when the limit is removed. The bucket keeps the tokens it has.
   */
  setRate(key: string, rate: number): void {
    const line = this.#line(key);
    line.rate = rate;
    line.cancelTimer?.();
    line.cancelTimer = undefined;
    if (rate === 0) line.bucket = null;
    else if (line.bucket) line.bucket.setFillRate(rate);
    else line.bucket = new TokenBucket(rate, 1, this.#now);
    this.#drain(line);
  }

  /** Stops releasing and returns every waiting item, in admission order per key; later ones pass through. */
  takePending(): T[] {
    this.#closed = true;
    const pending: T[] = [];
    for (const line of this.#lines.values()) {
      line.cancelTimer?.();
      line.cancelTimer = undefined;
      pending.push(...line.waiting.splice(0));
    }
    this.#waitingCount = 0;
    return pending;
  }

  /** Removes and returns the waiting items `match` picks (revoked tasks), freeing their place at once. */
  takeMatching(match: (item: T) => boolean): T[] {
    const taken: T[] = [];
    for (const line of this.#lines.values()) {
      for (let index = line.waiting.length - 1; index >= 0; index--) {
        const item = line.waiting[index] as T;
        if (!match(item)) continue;
        line.waiting.splice(index, 1);
        taken.push(item);
      }
    }
    this.#waitingCount -= taken.length;
    return taken.reverse();
  }

  #line(key: string): Line<T> {
    let line = this.#lines.get(key);
    if (!line) {
      const rate = this.#options.rateFor(key);
      const bucket = rate > 0 ? new TokenBucket(rate, 1, this.#now) : null;
      line = { rate, bucket, waiting: [], cancelTimer: undefined };
      this.#lines.set(key, line);
    }
    return line;
  }

  // Releases the line's head while it can, then arms one timer for the next token.
  #drain(line: Line<T>): void {
    const { release, bypass } = this.#options;
    while (!this.#closed && line.waiting.length > 0) {
      const head = line.waiting[0] as T;
      const bucket = line.bucket;
      if (bucket !== null && !bypass?.(head) && !bucket.canConsume()) {
        // `release` may bring a new message in synchronously (an ack that frees a prefetch slot), whose
        // admit() drained this line again and armed the timer already.
        line.cancelTimer ??= setLongTimeout(() => {
          line.cancelTimer = undefined;
          this.#drain(line);
        }, bucket.expectedTimeMs());
        return;
      }
      line.waiting.shift();
      this.#waitingCount--;
      release(head);
    }
  }
}
