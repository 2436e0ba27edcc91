import type { BroadcastHandler, PublishTarget, QueueDeclaration } from "../broker.js";
import { TqError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { TransportMessage } from "../message/types.js";
import { cloneMessage } from "./clone.js";
import { MemoryDelivery } from "./delivery.js";
import { Exchange, type MemoryExchangeType } from "./exchange.js";
import { type ConsumerState, type InFlight, MemoryQueue, type SettleOutcome } from "./queue.js";

/** A broadcast subscriber as the server sees it. */
export interface Subscriber {
  readonly handler: BroadcastHandler;
  readonly logger: Logger;
}

// setTimeout fires at once for delays above 2^31 - 1 ms, so longer delays are waited in steps.
const MAX_TIMER_MS = 2_147_483_647;

/**
 * The broker side of a {@link MemoryServer}: queues, exchanges, consumers and broadcast subscribers
 * shared by every `MemoryBroker` on that server. Handlers always run in a later turn of the event
 * loop, never inside the call that made a message ready.
 */
export class BrokerEngine {
  readonly #queues = new Map<string, MemoryQueue>();
  readonly #exchanges = new Map<string, Exchange>();
  readonly #subscribers = new Map<string, Set<Subscriber>>();
  readonly #dirty = new Set<MemoryQueue>();
  #dispatchScheduled = false;
  #seq = 0;

  /** A queue, created on first use as RabbitMQ's default exchange and Celery's declare-on-use do. */
  queue(name: string): MemoryQueue {
    let queue = this.#queues.get(name);
    if (!queue) {
      queue = new MemoryQueue(name);
      this.#queues.set(name, queue);
    }
    return queue;
  }

  /** A queue if it exists. */
  findQueue(name: string): MemoryQueue | undefined {
    return this.#queues.get(name);
  }

  /** Names of the queues that exist. */
  queueNames(): string[] {
    return [...this.#queues.keys()];
  }

  /** Creates a queue and binds it to its exchange (declared on the way), like Celery's `task_queues`. */
  declare(declaration: QueueDeclaration): void {
    const queue = this.queue(declaration.name);
    if (declaration.maxPriority !== undefined) queue.maxPriority = declaration.maxPriority;
    const exchangeName = declaration.exchange ?? declaration.name;
    // Every queue is already bound to the default exchange by its name.
    if (exchangeName === "") return;
    const exchange = this.#exchange(exchangeName, declaration.exchangeType ?? "direct");
    exchange.bind(queue.name, declaration.routingKey ?? declaration.name);
  }

  /**
   * Routes a message (already copied) now, or at `deliverAt`. A named exchange with no matching
   * binding drops the message, as RabbitMQ does for a publish without the `mandatory` flag.
   */
  publish(
    message: TransportMessage,
    target: PublishTarget,
    deliverAt: Date | undefined,
    logger: Logger,
  ): void {
    const delayMs = deliverAt ? deliverAt.getTime() - Date.now() : 0;
    if (delayMs > 0) {
      this.#later(delayMs, () => this.#route(message, target, false, logger));
    } else {
      this.#route(message, target, false, logger);
    }
  }

  /** Sends a message to every subscriber of an exchange and every queue bound to it. */
  broadcast(exchange: string, message: TransportMessage, logger: Logger): void {
    this.#route(message, { exchange, routingKey: "" }, true, logger);
  }

  /** Adds a broadcast subscriber; returns the function that removes it. */
  subscribe(exchange: string, subscriber: Subscriber): () => void {
    let subscribers = this.#subscribers.get(exchange);
    if (!subscribers) {
      subscribers = new Set();
      this.#subscribers.set(exchange, subscribers);
    }
    subscribers.add(subscriber);
    return () => {
      subscribers.delete(subscriber);
      if (subscribers.size === 0 && this.#subscribers.get(exchange) === subscribers) {
        this.#subscribers.delete(exchange);
      }
    };
  }

  /** Starts delivering to a consumer. */
  addConsumer(consumer: ConsumerState): void {
    for (const queue of consumer.queues) {
      queue.consumers.push(consumer);
      this.#markDirty(queue);
    }
  }

  /** Stops delivering to a consumer; its unsettled deliveries stay valid. */
  cancelConsumer(consumer: ConsumerState): void {
    if (!consumer.active) return;
    consumer.active = false;
    for (const queue of consumer.queues) {
      const index = queue.consumers.indexOf(consumer);
      if (index >= 0) queue.consumers.splice(index, 1);
    }
  }

  /** Settles a delivery exactly once; a second attempt throws. */
  settle(flight: InFlight, outcome: SettleOutcome): void {
    if (flight.settledBy !== undefined) throw settledError(flight);
    flight.settledBy = outcome;
    flight.queue.inFlight.delete(flight);
    flight.consumer.unsettled.delete(flight);
    flight.consumer.brokerFlights.delete(flight);
    if (outcome === "requeue" || outcome === "close") {
      flight.entry.redelivered = true;
      flight.queue.ready.push(flight.entry);
      this.#markDirty(flight.queue);
    }
    // The consumer has room for one more message now.
    if (flight.consumer.active) for (const queue of flight.consumer.queues) this.#markDirty(queue);
  }

  /** Deletes the ready messages of a queue; returns how many there were. */
  purge(name: string): number {
    return this.#queues.get(name)?.ready.clear() ?? 0;
  }

  #exchange(name: string, type: MemoryExchangeType): Exchange {
    const existing = this.#exchanges.get(name);
    if (existing && existing.type !== type) {
      throw new TqError(
        "TQ_CONFIG",
        `exchange "${name}" is already declared as ${existing.type}, cannot redeclare it as ${type}`,
        { component: "memory" },
      );
    }
    if (existing) return existing;
    const created = new Exchange(name, type);
    this.#exchanges.set(name, created);
    return created;
  }

  #route(message: TransportMessage, target: PublishTarget, fanout: boolean, logger: Logger): void {
    const { exchange, routingKey } = target;
    if (exchange === "") {
      this.#enqueue(this.queue(routingKey), message);
      return;
    }
    const queueNames = this.#exchanges.get(exchange)?.route(routingKey, { everyBinding: fanout }) ?? [];
    for (const name of queueNames) this.#enqueue(this.queue(name), message);
    const subscribers = [...(this.#subscribers.get(exchange) ?? [])];
    for (const subscriber of subscribers) this.#notify(subscriber, message, exchange);
    if (queueNames.length === 0 && subscribers.length === 0) {
      logger.debug("memory broker dropped an unroutable message", {
        "tq.exchange": exchange,
        "tq.routing_key": routingKey,
      });
    }
  }

  #enqueue(queue: MemoryQueue, message: TransportMessage): void {
    queue.enqueue(message, this.#seq++);
    this.#markDirty(queue);
  }

  #notify(subscriber: Subscriber, message: TransportMessage, exchange: string): void {
    const copy = cloneMessage(message);
    setImmediate(() => {
      // It may have cancelled its subscription since the message was sent.
      if (!this.#subscribers.get(exchange)?.has(subscriber)) return;
      runHandler(() => subscriber.handler(copy), subscriber.logger, { "tq.exchange": exchange });
    });
  }

  #later(delayMs: number, run: () => void): void {
    const step = Math.min(delayMs, MAX_TIMER_MS);
    // Unref'd: a message waiting for its time must not keep the process alive on its own.
    setTimeout(() => (delayMs > step ? this.#later(delayMs - step, run) : run()), step).unref();
  }

  #markDirty(queue: MemoryQueue): void {
    this.#dirty.add(queue);
    if (this.#dispatchScheduled) return;
    this.#dispatchScheduled = true;
    setImmediate(() => this.#dispatch());
  }

  #dispatch(): void {
    this.#dispatchScheduled = false;
    const queues = [...this.#dirty];
    this.#dirty.clear();
    for (const queue of queues) {
      while (queue.ready.size > 0) {
        const consumer = queue.nextConsumer();
        if (!consumer) break;
        this.#deliver(queue, consumer, queue.ready.pop()!);
      }
    }
  }

  #deliver(queue: MemoryQueue, consumer: ConsumerState, entry: InFlight["entry"]): void {
    const flight: InFlight = { entry, queue, consumer, settledBy: undefined };
    queue.inFlight.add(flight);
    consumer.unsettled.add(flight);
    consumer.brokerFlights.add(flight);
    const delivery = new MemoryDelivery(
      cloneMessage(entry.message),
      queue.name,
      entry.redelivered,
      (outcome) => this.settle(flight, outcome),
    );
    // A microtask, so that a handler settling synchronously cannot re-enter this dispatch loop.
    queueMicrotask(() =>
      runHandler(() => consumer.handler(delivery), consumer.logger, { "tq.queue": queue.name }),
    );
  }
}

function settledError(flight: InFlight): TqError {
  if (flight.settledBy === "close") {
    return new TqError(
      "TQ_CLOSED",
      `the delivery from queue "${flight.queue.name}" was requeued when its broker closed`,
      { component: "memory" },
    );
  }
  return new TqError(
    "TQ_DELIVERY_SETTLED",
    `the delivery from queue "${flight.queue.name}" was already settled (${flight.settledBy})`,
    { component: "memory" },
  );
}

/** Runs a user handler; whatever it throws is logged and never reaches the broker. */
function runHandler(
  run: () => void | Promise<void>,
  logger: Logger,
  attributes: Record<string, unknown>,
): void {
  const report = (error: unknown): void => {
    logger.error("memory broker handler failed", { ...attributes, error });
  };
  try {
    const result = run();
    if (result !== undefined) Promise.resolve(result).catch(report);
  } catch (error) {
    report(error);
  }
}
