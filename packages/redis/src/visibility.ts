import type { Logger } from "@tq/core";
import type { RedisClient } from "./connection.js";
import type { KeyLayout } from "./keys.js";
import type { RedisDelivery } from "./redis-delivery.js";

// Members per ZADD, so that a consumer holding thousands of messages sends commands of sane size.
const CHUNK = 500;

/** What a {@link VisibilityKeeper} works with. */
export interface VisibilityKeeperOptions {
  readonly client: RedisClient;
  readonly keys: KeyLayout;
  /** The broker's unsettled deliveries. */
  readonly held: ReadonlySet<RedisDelivery>;
  readonly visibilityTimeoutMs: number;
  /** Between refreshes. */
  readonly intervalMs: number;
  readonly logger: Logger;
}

/**
 * Keeps the messages a living broker holds visible to no one else. A message's `unacked_index` score
 * is when it was taken; restorers put back entries older than the visibility timeout. Refreshing the
 * score of every held message on an interval means only messages of a consumer that went away are
 * ever restored, however long a task runs or waits for its ETA (Celery's kombu#337 trap).
 *
 * Scores only move forward (`ZADD XX GT`): XX never brings back an entry that was acked or restored
 * meanwhile, and GT never shortens an extension `extendVisibility` asked for.
 */
export class VisibilityKeeper {
  readonly #options: VisibilityKeeperOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(options: VisibilityKeeperOptions) {
    this.#options = options;
  }

  /** Starts refreshing (idempotent). */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      // A refresh still waiting (Redis reconnecting) is not doubled.
      this.#running ??= this.refresh()
        .catch((error: unknown) =>
          this.#options.logger.warn("could not extend the visibility of held messages", { error }),
        )
        .finally(() => {
          this.#running = undefined;
        });
    }, this.#options.intervalMs);
    this.#timer.unref();
  }

  /** Stops refreshing and waits for a refresh under way. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** Sets the score of every held message to now. */
  async refresh(): Promise<void> {
    const { client, keys, held } = this.#options;
    if (held.size === 0) return;
    const score = Date.now() / 1000;
    const byIndex = new Map<string, string[]>();
    for (const delivery of held) {
      const index = keys.unackedIndex(delivery.queue);
      const tags = byIndex.get(index);
      if (tags) tags.push(delivery.tag);
      else byIndex.set(index, [delivery.tag]);
    }
    const writes: Promise<unknown>[] = [];
    for (const [index, tags] of byIndex) {
      for (let start = 0; start < tags.length; start += CHUNK) {
        const args: (string | number)[] = [];
        for (const tag of tags.slice(start, start + CHUNK)) args.push(score, tag);
        writes.push(client.zadd(index, "XX", "GT", ...args));
      }
    }
    await Promise.all(writes);
  }

  /** Keeps one message invisible for at least `ms` more milliseconds. */
  async extend(delivery: RedisDelivery, ms: number): Promise<void> {
    // Restorers take entries scored before now − timeout, so this score hides it until now + ms.
    const { client, keys, visibilityTimeoutMs } = this.#options;
    const score = (Date.now() + ms - visibilityTimeoutMs) / 1000;
    await client.zadd(keys.unackedIndex(delivery.queue), "XX", "GT", score, delivery.tag);
  }
}
