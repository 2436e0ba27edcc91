import type {
  BroadcastHandler,
  BroadcastOptions,
  Broker,
  BrokerCapabilities,
  ConsumeOptions,
  Consumer,
  DeliveryHandler,
  PublishOptions,
  PublishTarget,
  QueueDeclaration,
} from "../broker.js";
import { TqError } from "../errors.js";
import { type Logger, noopLogger } from "../logger.js";
import type { TransportMessage } from "../message/types.js";
import { throwIfAborted } from "./abort.js";
import { cloneMessage } from "./clone.js";
import type { BrokerEngine } from "./engine.js";
import type { ConsumerState, InFlight } from "./queue.js";
import { engineOf, MemoryServer } from "./server.js";

/** Options of {@link MemoryBroker} and {@link memoryBroker}. */
export interface MemoryBrokerOptions {
  /** The server holding the queues; brokers on one server share them. @default `MemoryServer.forUrl(url)` */
  server?: MemoryServer;
  /** Names a process-wide server when `server` is not given: `memory://` or `memory://<name>`. @default "memory://" */
  url?: string;
  /** Receives errors thrown by handlers and routing detail. @default noopLogger */
  logger?: Logger;
}

const capabilities: BrokerCapabilities = Object.freeze({
  delayedDelivery: true,
  priorities: true,
  broadcast: true,
  visibilityExtension: false,
});

/**
 * A {@link Broker} inside the process, for tests, development and single-process apps. It behaves
 * like RabbitMQ where it can: the default exchange `""` routes to the queue named by the routing key
 * (created on demand); declared direct, topic and fanout exchanges route by their bindings, and a
 * message that matches no binding is dropped (as RabbitMQ drops it without the `mandatory` flag);
 * a higher `properties.priority` is served first; `deliverAt` is honoured with timers.
 *
 * Deliveries are settled once: settling again rejects with `TQ_DELIVERY_SETTLED`, or `TQ_CLOSED` when
 * the broker's `close()` already requeued it. `close()` is final: later calls reject with `TQ_CLOSED`.
 */
export class MemoryBroker implements Broker {
  /** Everything but visibility extension, which needs no support: memory deliveries never time out. */
  readonly capabilities: BrokerCapabilities = capabilities;
  /** The server holding this broker's queues (and a probe of their state for tests). */
  readonly server: MemoryServer;
  readonly #engine: BrokerEngine;
  readonly #logger: Logger;
  readonly #consumers = new Set<ConsumerState>();
  readonly #flights = new Set<InFlight>();
  readonly #subscriptions = new Set<() => void>();
  #closed = false;

  constructor(options: MemoryBrokerOptions = {}) {
    this.server = options.server ?? MemoryServer.forUrl(options.url);
    this.#engine = engineOf(this.server);
    this.#logger = options.logger ?? noopLogger;
  }

  /** Nothing to open; rejects once closed. */
  async connect(options: { signal?: AbortSignal } = {}): Promise<void> {
    this.#assertOpen();
    throwIfAborted(options.signal);
  }

  /** Cancels this broker's consumers and subscriptions and requeues its unsettled deliveries. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const consumer of this.#consumers) this.#engine.cancelConsumer(consumer);
    this.#consumers.clear();
    for (const unsubscribe of this.#subscriptions) unsubscribe();
    this.#subscriptions.clear();
    // Other consumers (of other broker instances on the server) receive these, marked redelivered.
    for (const flight of [...this.#flights]) this.#engine.settle(flight, "close");
  }

  /** Creates the queues and binds them to their exchanges. */
  async declareQueues(queues: readonly QueueDeclaration[]): Promise<void> {
    this.#assertOpen();
    for (const declaration of queues) this.#engine.declare(declaration);
  }

  /** Copies the message and routes it, now or at `options.deliverAt`. */
  async publish(
    message: TransportMessage,
    target: PublishTarget,
    options: PublishOptions = {},
  ): Promise<void> {
    this.#assertOpen();
    throwIfAborted(options.signal);
    this.#engine.publish(cloneMessage(message), target, options.deliverAt, this.#logger);
  }

  /** Delivers round-robin among the consumers of each queue, at most `prefetch` unsettled at once. */
  async consume(
    queues: readonly string[],
    handler: DeliveryHandler,
    options: ConsumeOptions,
  ): Promise<Consumer> {
    this.#assertOpen();
    const { prefetch, signal } = options;
    if (!Number.isInteger(prefetch) || prefetch < 1) {
      throw new TqError("TQ_CONFIG", `prefetch must be an integer ≥ 1, got ${prefetch}`, {
        component: "memory",
      });
    }
    if (queues.length === 0) {
      throw new TqError("TQ_CONFIG", "consume needs at least one queue", { component: "memory" });
    }
    throwIfAborted(signal);
    const consumer: ConsumerState = {
      queues: [...new Set(queues)].map((name) => this.#engine.queue(name)),
      prefetch,
      handler,
      logger: this.#logger,
      unsettled: new Set(),
      brokerFlights: this.#flights,
      active: true,
    };
    this.#consumers.add(consumer);
    this.#engine.addConsumer(consumer);
    const cancel = (): void => {
      signal?.removeEventListener("abort", cancel);
      this.#engine.cancelConsumer(consumer);
      this.#consumers.delete(consumer);
    };
    signal?.addEventListener("abort", cancel, { once: true });
    return { cancel: async () => cancel() };
  }

  /** Deletes the ready messages of a queue (not those in flight, nor delayed ones not due yet). */
  async purge(queue: string): Promise<number> {
    this.#assertOpen();
    return this.#engine.purge(queue);
  }

  /** Ready messages of a queue, not counting those in flight. */
  async queueLength(queue: string): Promise<number> {
    this.#assertOpen();
    return this.server.readyCount(queue);
  }

  /** Sends a copy to every subscriber of the exchange (on any broker of this server) and its bound queues. */
  async broadcast(exchange: string, message: TransportMessage, _options?: BroadcastOptions): Promise<void> {
    this.#assertOpen();
    assertNamedExchange(exchange);
    this.#engine.broadcast(exchange, cloneMessage(message), this.#logger);
  }

  /** Receives every message broadcast (or published) to the exchange from now on. */
  async subscribeBroadcast(exchange: string, handler: BroadcastHandler): Promise<Consumer> {
    this.#assertOpen();
    assertNamedExchange(exchange);
    const unsubscribe = this.#engine.subscribe(exchange, { handler, logger: this.#logger });
    this.#subscriptions.add(unsubscribe);
    return {
      cancel: async () => {
        unsubscribe();
        this.#subscriptions.delete(unsubscribe);
      },
    };
  }

  #assertOpen(): void {
    if (this.#closed) throw new TqError("TQ_CLOSED", "the memory broker is closed", { component: "memory" });
  }
}

/** Creates a {@link MemoryBroker}. */
export function memoryBroker(options: MemoryBrokerOptions = {}): MemoryBroker {
  return new MemoryBroker(options);
}

function assertNamedExchange(exchange: string): void {
  if (exchange === "") {
    throw new TqError("TQ_CONFIG", "broadcast needs a named exchange, not the default one", {
      component: "memory",
    });
  }
}
