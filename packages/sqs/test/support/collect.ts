/** A tiny delivery collector and a wait helper for the feature tests. */
import type { Delivery, TransportMessage } from "@tq/core";

export interface Arrival {
  delivery: Delivery;
  at: number;
}

/** Collects deliveries; `next(n)` waits until n arrived. */
export class Collector {
  readonly arrivals: Arrival[] = [];
  readonly #onDelivery: ((delivery: Delivery) => unknown) | undefined;

  constructor(onDelivery?: (delivery: Delivery) => unknown) {
    this.#onDelivery = onDelivery;
  }

  readonly handler = (delivery: Delivery): void => {
    this.arrivals.push({ delivery, at: Date.now() });
    void this.#onDelivery?.(delivery);
  };

  get ids(): string[] {
    return this.arrivals.map((arrival) => String(arrival.delivery.message.headers.id));
  }

  async next(count: number, timeoutMs = 8_000): Promise<Arrival[]> {
    await waitFor(
      () => this.arrivals.length >= count,
      timeoutMs,
      `${count} deliveries (got ${this.arrivals.length})`,
    );
    return this.arrivals.slice(0, count);
  }
}

/** Polls `check` every 20 ms until it is true, or throws after `timeoutMs`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A Celery-shaped task message whose `id` header names it. */
export function task(id: string, properties: TransportMessage["properties"] = {}): TransportMessage {
  return {
    headers: { lang: "py", task: "tests.echo", id, root_id: id, retries: 0 },
    properties: { correlation_id: id, delivery_mode: 2, ...properties },
    contentType: "application/json",
    contentEncoding: "utf-8",
    body: new TextEncoder().encode(
      JSON.stringify([[id], {}, { callbacks: null, errbacks: null, chain: null, chord: null }]),
    ),
  };
}
