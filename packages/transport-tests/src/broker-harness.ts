import type { Broker } from "@tq/core";
import { type BrokerConformanceOptions, uniquePrefix } from "./options.js";
import { DeliveryCollector, eventually } from "./wait.js";

/** Options with their defaults applied. */
export type ResolvedBrokerOptions = Required<Omit<BrokerConformanceOptions, "probe" | "cleanup">> &
  Pick<BrokerConformanceOptions, "probe" | "cleanup">;

/** Resolves defaults. */
export function resolveBrokerOptions(options: BrokerConformanceOptions): ResolvedBrokerOptions {
  return {
    queuePrefix: uniquePrefix(),
    timeoutMs: 5_000,
    quietPeriodMs: 150,
    priorityOrder: "higher-first",
    ...options,
  };
}

/**
 * What one test of the broker suite works with: broker instances it gets connected and closed
 * for it, its own queue names, and probes of the server's state.
 */
export class BrokerHarness {
  readonly options: ResolvedBrokerOptions;
  readonly #brokers = new Set<Broker>();
  readonly #queues = new Set<string>();
  #seq = 0;

  constructor(options: ResolvedBrokerOptions) {
    this.options = options;
  }

  /** A new connected broker instance, closed after the test. */
  async broker(): Promise<Broker> {
    const broker = await this.options.createBroker();
    this.#brokers.add(broker);
    await broker.connect();
    return broker;
  }

  /** A queue (or exchange) name used by this test only. */
  name(label: string): string {
    const name = `${this.options.queuePrefix}-${label}-${++this.#seq}`;
    this.#queues.add(name);
    return name;
  }

  /** A collector waiting up to the suite's timeout. */
  collector(onDelivery?: ConstructorParameters<typeof DeliveryCollector>[1]): DeliveryCollector {
    return new DeliveryCollector(this.options.timeoutMs, onDelivery);
  }

  /** Closes one broker now (the test expects close to succeed). */
  async close(broker: Broker): Promise<void> {
    this.#brokers.delete(broker);
    await broker.close();
  }

  /** Ready messages, through the probe when there is one. */
  async readyCount(broker: Broker, queue: string): Promise<number> {
    return this.options.probe ? this.options.probe.readyCount(queue) : broker.queueLength(queue);
  }

  /** Waits until the queue shows `ready` ready messages and, when the probe can tell, `inFlight` in flight. */
  async expectCounts(broker: Broker, queue: string, ready: number, inFlight?: number): Promise<void> {
    const inFlightCount =
      inFlight === undefined ? undefined : this.options.probe?.inFlightCount?.bind(this.options.probe);
    let seen = "nothing yet";
    await eventually(
      async () => {
        const readyNow = await this.readyCount(broker, queue);
        const inFlightNow = inFlightCount ? await inFlightCount(queue) : undefined;
        seen = `ready ${readyNow}, in flight ${inFlightNow ?? "not probed"}`;
        return readyNow === ready && inFlightNow === (inFlightCount ? inFlight : undefined);
      },
      this.options.timeoutMs,
      () =>
        `queue ${queue} to hold ${ready} ready and ${inFlight ?? "any number"} in flight (last seen: ${seen})`,
    );
  }

  /** Closes this test's brokers, purges its queues, and runs the user's cleanup. */
  async cleanup(): Promise<void> {
    const brokers = [...this.#brokers];
    this.#brokers.clear();
    await Promise.allSettled(brokers.map((broker) => broker.close()));
    const queues = [...this.#queues];
    this.#queues.clear();
    if (queues.length === 0) return;
    const janitor = await this.options.createBroker();
    try {
      await janitor.connect();
      await Promise.allSettled(queues.map((queue) => janitor.purge(queue)));
    } finally {
      await janitor.close();
    }
    await this.options.cleanup?.(queues);
  }
}
