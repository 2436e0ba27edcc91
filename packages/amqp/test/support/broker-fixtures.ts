/** Shared pieces of the broker tests: brokers closed after each test, collectors, waits, task messages. */
import type { Delivery, DeliveryHandler, Logger, TransportMessage } from "@tq/core";
import { AmqpBroker } from "../../src/broker.js";
import type { AmqpBrokerOptions } from "../../src/broker-options.js";
import { amqpTestUrl, ensureTestVhost } from "./amqp-server.js";

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it is true; throws with `what` after `timeoutMs`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string | (() => string),
  timeoutMs = 5_000,
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

/** Brokers made for one test and closed after it. */
export class BrokerPool {
  readonly #brokers: AmqpBroker[] = [];

  async make(options: AmqpBrokerOptions = {}): Promise<AmqpBroker> {
    await ensureTestVhost();
    const broker = new AmqpBroker({ url: amqpTestUrl(), ...options });
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

/** A logger that keeps what it is told, to check what was logged at which level. */
export function recordingLogger(): Logger & {
  lines: { level: string; message: string; attributes?: object }[];
} {
  const lines: { level: string; message: string; attributes?: object }[] = [];
  const at = (level: string) => (message: string, attributes?: object) =>
    void lines.push({ level, message, ...(attributes ? { attributes } : {}) });
  return { lines, error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") };
}
