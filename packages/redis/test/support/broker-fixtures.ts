/**
 * Shared pieces of the broker tests: brokers closed after each test, a delivery collector, a wait
 * helper, task messages, and envelopes exactly as Python's kombu writes them.
 */
import { Buffer } from "node:buffer";
import type { Delivery, DeliveryHandler, TransportMessage } from "@tq/core";
import { RedisBroker } from "../../src/broker.js";
import type { RedisBrokerOptions } from "../../src/broker-options.js";

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it is true; throws with `what` after `timeoutMs`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Brokers made for one test and closed after it. */
export class BrokerPool {
  readonly #brokers: RedisBroker[] = [];
  readonly #defaults: RedisBrokerOptions;

  constructor(defaults: RedisBrokerOptions) {
    this.#defaults = defaults;
  }

  async make(options: RedisBrokerOptions = {}): Promise<RedisBroker> {
    const broker = new RedisBroker({ ...this.#defaults, ...options });
    this.#brokers.push(broker);
    await broker.connect();
    return broker;
  }

  async closeAll(): Promise<void> {
    const brokers = this.#brokers.splice(0);
    await Promise.allSettled(brokers.map((broker) => broker.close()));
  }
}

/** Records deliveries, optionally settling them. */
export function collector(onDelivery?: DeliveryHandler): {
  deliveries: Delivery[];
  handler: DeliveryHandler;
} {
  const deliveries: Delivery[] = [];
  return {
    deliveries,
    handler: (delivery) => {
      deliveries.push(delivery);
      return onDelivery?.(delivery);
    },
  };
}

/** A Celery-shaped task message whose `id` header names it. */
export function taskMessage(id: string, properties: TransportMessage["properties"] = {}): TransportMessage {
  return {
    headers: { lang: "py", task: "tests.echo", id, root_id: id, parent_id: null, retries: 0 },
    properties: { correlation_id: id, delivery_mode: 2, ...properties },
    contentType: "application/json",
    contentEncoding: "utf-8",
    body: new TextEncoder().encode(
      JSON.stringify([[id], {}, { callbacks: null, errbacks: null, chain: null, chord: null }]),
    ),
  };
}

/** The `id` header of a delivery. */
export function idOf(delivery: Delivery): string {
  return String(delivery.message.headers.id);
}

/**
 * A task envelope byte for byte as Celery 5.2.6 / kombu 5.2.4 LPUSHes it (Python's `", "` and `": "`
 * separators, ASCII escapes, `timelimit` as a list), after the capture in celery-protocol.md §1.2.
 */
export function pythonEnvelope(options: {
  queue: string;
  id: string;
  tag: string;
  priority?: number;
}): string {
  const body = Buffer.from(
    '[[7, 7], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]',
  ).toString("base64");
  return (
    `{"body": "${body}", "content-encoding": "utf-8", "content-type": "application/json", ` +
    `"headers": {"lang": "py", "task": "probe.add", "id": "${options.id}", "shadow": null, ` +
    `"eta": null, "expires": null, "group": null, "group_index": null, "retries": 0, ` +
    `"timelimit": [null, null], "root_id": "${options.id}", "parent_id": null, "argsrepr": "(7, 7)", ` +
    `"kwargsrepr": "{}", "origin": "gen9887@vm", "ignore_result": false, "x_empty": [], "x_text": "caf\\u00e9"}, ` +
    `"properties": {"correlation_id": "${options.id}", "reply_to": "76961ed7-4dd2-3165-8282-4495d90f1e4e", ` +
    `"delivery_mode": 2, "delivery_info": {"exchange": "", "routing_key": "${options.queue}"}, ` +
    `"priority": ${options.priority ?? 0}, "body_encoding": "base64", "delivery_tag": "${options.tag}"}}`
  );
}
