import type { Logger, ScheduleStore } from "@tq/core";

/** What {@link Leadership} calls as the lease comes and goes. */
export interface LeadershipHooks {
  /** The lease was taken: start sending. A rejection gives the lease back. */
  lead(): Promise<void>;
  /** The lease was lost or given up: stop sending at once. */
  follow(reason: string): void;
  /** The lease was renewed (about every renew interval): a chance to look for changes. */
  renewed(): Promise<void>;
}

/** Settings of {@link Leadership}. */
export interface LeadershipOptions {
  readonly ttlMs: number;
  readonly renewIntervalMs: number;
  readonly logger: Logger;
  readonly now: () => number;
}

// A waiting beat tries again this long after the leader's lease should have run out, so that the
// attempt does not land a hair before the expiry (clocks and timers are not exact).
const TAKEOVER_MARGIN_MS = 20;

/**
 * Holds the lease of one beat in a store: tries to take it, renews it while held, and when it is held
 * by another beat, sleeps until that lease could expire and tries again (no polling in between). A
 * leader that cannot renew within its TTL stops leading before anyone else can take over.
 */
export class Leadership {
  readonly #store: ScheduleStore;
  readonly #token: string;
  readonly #options: LeadershipOptions;
  readonly #hooks: LeadershipHooks;
  #leading = false;
  #stopped = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastRenewedAt = 0;

  constructor(store: ScheduleStore, token: string, options: LeadershipOptions, hooks: LeadershipHooks) {
    this.#store = store;
    this.#token = token;
    this.#options = options;
    this.#hooks = hooks;
  }

  /** The token this beat's lease is held with; store writes are fenced by it. */
  get token(): string {
    return this.#token;
  }

  /** True while this beat holds the lease. */
  get leading(): boolean {
    return this.#leading;
  }

  /** Makes the first attempt; resolves once this beat leads or knows it must wait. */
  async start(): Promise<void> {
    await this.#attempt();
  }

  /** Stops trying and renewing. Call {@link release} afterwards to hand the lease over at once. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** Gives the lease up if this beat holds it. */
  async release(): Promise<void> {
    const wasLeading = this.#leading;
    this.#leading = false;
    if (!wasLeading) return;
    try {
      await this.#store.releaseLease(this.#token);
    } catch (error) {
      this.#options.logger.warn("beat: could not release its lease; it expires by itself", { error });
    }
  }

  /** Steps down now (e.g. the store said this beat no longer holds the lease). */
  lose(reason: string): void {
    if (!this.#leading) return;
    this.#leading = false;
    clearTimeout(this.#timer);
    this.#hooks.follow(reason);
    this.#schedule(() => this.#attempt(), this.#options.renewIntervalMs);
  }

  async #attempt(): Promise<void> {
    if (this.#stopped) return;
    const { logger, ttlMs, renewIntervalMs } = this.#options;
    let retryInMs: number;
    try {
      const attempt = await this.#store.acquireLease(this.#token, ttlMs);
      if (this.#stopped) {
        if (attempt.acquired) await this.#store.releaseLease(this.#token).catch(() => {});
        return;
      }
      if (attempt.acquired) {
        this.#leading = true;
        this.#lastRenewedAt = this.#options.now();
        this.#schedule(() => this.#renew(), renewIntervalMs);
        try {
          await this.#hooks.lead();
        } catch (error) {
          logger.error("beat: could not start sending; giving the lease back", { error });
          clearTimeout(this.#timer);
          await this.release();
          this.#hooks.follow("start failed");
          this.#schedule(() => this.#attempt(), renewIntervalMs);
        }
        return;
      }
      retryInMs = Math.min(ttlMs, attempt.retryInMs) + TAKEOVER_MARGIN_MS;
    } catch (error) {
      logger.warn("beat: cannot reach the schedule store; trying again", { error });
      retryInMs = renewIntervalMs;
    }
    this.#schedule(() => this.#attempt(), retryInMs);
  }

  async #renew(): Promise<void> {
    if (this.#stopped || !this.#leading) return;
    const { logger, ttlMs, renewIntervalMs, now } = this.#options;
    let renewed: boolean;
    try {
      renewed = await this.#store.renewLease(this.#token, ttlMs);
    } catch (error) {
      // Not knowing is not holding: once the lease may have expired, another beat may lead.
      if (now() - this.#lastRenewedAt >= ttlMs - renewIntervalMs / 2) {
        this.lose("the schedule store could not be reached to renew the lease");
      } else {
        logger.warn("beat: could not renew its lease; trying again", { error });
        this.#schedule(() => this.#renew(), Math.min(1000, renewIntervalMs / 2));
      }
      return;
    }
    if (!this.#leading || this.#stopped) return;
    if (!renewed) {
      this.lose("the lease expired and another beat took it");
      return;
    }
    this.#lastRenewedAt = now();
    this.#schedule(() => this.#renew(), renewIntervalMs);
    await this.#hooks.renewed().catch((error: unknown) => {
      logger.warn("beat: could not check the store for changed entries", { error });
    });
  }

  #schedule(run: () => Promise<void>, delayMs: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void run(), Math.max(0, Math.min(delayMs, 2 ** 31 - 1)));
  }
}
