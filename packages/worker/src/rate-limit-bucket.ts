import { performance } from "node:perf_hooks";

const ROUNDING_TOLERANCE = 1e-9;

/**
 * The token bucket algorithm, as kombu's `TokenBucket`: tokens flow in at `fillRate` per second up to
 * `capacity`, and a run takes one. Celery gives each rate-limited task a bucket of capacity 1, so runs
 * are spread evenly (one every `1 / fillRate` seconds) rather than let through in bursts.
 *
 * Unlike kombu's, the refill clock also advances while the bucket is full: kombu keeps the time of the
 * last refill below capacity, so after an idle spell its bucket refills a second token at once and lets
 * two runs through back to back.
 */
export class TokenBucket {
  /** Most tokens held at once. */
  readonly capacity: number;
  readonly #now: () => number;
  #fillRate: number;
  #tokens: number;
  #refilledAt: number;

  /**
   * @param fillRate tokens per second, > 0.
   * @param capacity most tokens held; the bucket starts full.
   * @param now a clock in milliseconds (monotonic by default; tests pass their own).
   */
  constructor(fillRate: number, capacity = 1, now: () => number = () => performance.now()) {
    this.#fillRate = fillRate;
    this.capacity = capacity;
    this.#tokens = capacity;
    this.#now = now;
    this.#refilledAt = now();
  }

  /** Tokens per second. */
  get fillRate(): number {
    return this.#fillRate;
  }

  /** Changes the rate from now on; the tokens gathered so far at the old rate are kept. */
  setFillRate(fillRate: number): void {
    this.#refill();
    this.#fillRate = fillRate;
  }

  /** Takes `tokens` and returns true if the bucket has that many now; else takes none and returns false. */
  canConsume(tokens = 1): boolean {
    // The tolerance keeps a timer armed for exactly expectedTimeMs() from finding 0.9999… tokens.
    if (tokens > this.#refill() + ROUNDING_TOLERANCE) return false;
    this.#tokens -= tokens;
    return true;
  }

  /** Milliseconds until `tokens` are in the bucket (0 if they are now). */
  expectedTimeMs(tokens = 1): number {
    return (Math.max(0, tokens - this.#refill()) / this.#fillRate) * 1000;
  }

  #refill(): number {
    const now = this.#now();
    const gained = (this.#fillRate * (now - this.#refilledAt)) / 1000;
    this.#tokens = Math.min(this.capacity, this.#tokens + Math.max(0, gained));
    this.#refilledAt = now;
    return this.#tokens;
  }
}
