import type { Delivery, DeliveryHandler } from "@tq/core";

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true; fails with `what` after `timeoutMs`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string | (() => string),
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${typeof what === "string" ? what : what()}`,
      );
    }
    await sleep(10);
  }
}

/** A delivery and when it arrived (epoch ms). */
export interface Arrival {
  readonly delivery: Delivery;
  readonly at: number;
}

/** Records deliveries; `next(n)` waits for the first n without polling. */
export class DeliveryCollector {
  readonly arrivals: Arrival[] = [];
  readonly #timeoutMs: number;
  readonly #onDelivery: DeliveryHandler | undefined;
  #wake: (() => void) | undefined;

  constructor(timeoutMs: number, onDelivery?: DeliveryHandler) {
    this.#timeoutMs = timeoutMs;
    this.#onDelivery = onDelivery;
  }

  /** The handler to pass to `consume`. */
  readonly handler: DeliveryHandler = (delivery) => {
    this.arrivals.push({ delivery, at: Date.now() });
    this.#wake?.();
    return this.#onDelivery?.(delivery);
  };

  /** Deliveries so far. */
  get deliveries(): Delivery[] {
    return this.arrivals.map((arrival) => arrival.delivery);
  }

  /** Resolves with the first `count` deliveries once they arrived. */
  async next(count: number): Promise<Delivery[]> {
    const deadline = Date.now() + this.#timeoutMs;
    while (this.arrivals.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `expected ${count} deliveries within ${this.#timeoutMs} ms, got ${this.arrivals.length}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.deliveries.slice(0, count);
  }
}
