import type { Logger } from "@tq/core";
import type { Receipts } from "./receipts.js";
import type { SqsDelivery } from "./sqs-delivery.js";

/** What a {@link VisibilityKeeper} works with. */
export interface VisibilityKeeperOptions {
  readonly receipts: Receipts;
  /** The broker's unsettled deliveries. */
  readonly held: ReadonlySet<SqsDelivery>;
  readonly visibilityTimeoutMs: number;
  readonly intervalMs: number;
  readonly logger: Logger;
}

/**
 * Keeps the messages a living broker holds invisible to others: every `intervalMs`, each held message
 * whose deadline is less than half a visibility timeout away gets a full visibility timeout again
 * (ChangeMessageVisibility, batched per queue). A message whose holder died or froze is no longer
 * extended and SQS hands it to another consumer when its timeout runs out — however long a live
 * worker runs it or waits for its ETA (Celery's kombu#337 trap, on SQS too).
 */
export class VisibilityKeeper {
  readonly #options: VisibilityKeeperOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(options: VisibilityKeeperOptions) {
    this.#options = options;
  }

  /** Starts (idempotent). */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      this.#running ??= this.refresh().finally(() => {
        this.#running = undefined;
      });
    }, this.#options.intervalMs);
    this.#timer.unref();
  }

  /** Stops and waits for a refresh under way. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** Extends the held messages that need it. Never rejects. */
  async refresh(): Promise<void> {
    const { held, visibilityTimeoutMs, receipts, logger } = this.#options;
    const now = Date.now();
    const seconds = Math.ceil(visibilityTimeoutMs / 1000);
    const due = [...held].filter((delivery) => delivery.deadline - now < visibilityTimeoutMs / 2);
    await Promise.all(
      due.map(async (delivery) => {
        try {
          await receipts.changeVisibility(delivery.info.url, delivery.receiptHandle, seconds);
          delivery.extended(seconds, now);
        } catch (error) {
          // Settled meanwhile, past SQS's 12-hour limit, or SQS unreachable: it may be redelivered.
          if (delivery.held) {
            logger.warn("could not extend the visibility of a held message", {
              "tq.queue": delivery.queue,
              "tq.task_id": String(delivery.message.headers.id ?? ""),
              error,
            });
          }
        }
      }),
    );
  }
}
