import {
  type BroadcastHandler,
  type BroadcastOptions,
  type Broker,
  type BrokerCapabilities,
  type ConsumeOptions,
  type Consumer,
  type DeliveryHandler,
  type PublishOptions,
  type PublishTarget,
  type QueueDeclaration,
  TqError,
  type TransportMessage,
} from "@tq/core";
import { BroadcastSubscription } from "./broadcast.js";
import {
  type AmqpBrokerOptions,
  type ResolvedAmqpBrokerOptions,
  resolveAmqpBrokerOptions,
} from "./broker-options.js";
import { abortedError, ConnectionManager } from "./connection-manager.js";
import { AmqpConsumer } from "./consumer.js";
import { delayedPublishTarget } from "./delayed-delivery.js";
import { bodyBuffer, toPublishOptions } from "./message-codec.js";
import { Publisher } from "./publisher.js";
import { Topology } from "./topology.js";

const capabilities: BrokerCapabilities = Object.freeze({
  delayedDelivery: true,
  priorities: true,
  broadcast: true,
  visibilityExtension: false,
});

// How long close() waits for the confirms of publishes under way before it closes their channel.
const CLOSE_GRACE_MS = 5_000;

/**
 * A {@link Broker} on RabbitMQ (amqplib), with Celery's topology and message format so Python Celery
 * and tq share queues: task messages carry their headers as AMQP headers and their properties as
 * basic properties, the body raw; queues are durable and bound to a direct exchange named like
 * them; messages are persistent. Priorities: HIGHER numbers are served first (`x-max-priority`).
 * A publish to the default exchange declares the queue first, as Celery does, so nothing published
 * is dropped for want of a queue.
 *
 * Publishes are confirmed by RabbitMQ (publisher confirms), many in flight at once. One connection,
 * reopened with backoff when it drops: consumers resume by themselves, publishes wait for it up to
 * `publishTimeoutMs`. A delivery is settled with ack / nack (reject, which dead-letters where the
 * queue has a dead-letter exchange) / nack with requeue. `deliverAt` uses Celery's native delayed
 * delivery (the `celery_delayed_*` exchanges). Broadcasts go through fanout exchanges.
 *
 * Errors: TQ_CONNECTION (RabbitMQ unreachable, a publish lost with its connection), TQ_CONFIG (a
 * queue or exchange that exists with other arguments or type — RabbitMQ's PRECONDITION_FAILED — or
 * that does not exist), TQ_TIMEOUT (no confirm within `publishTimeoutMs`), TQ_PUBLISH_NACKED,
 * TQ_SERIALIZATION, TQ_CLOSED.
 */
export class AmqpBroker implements Broker {
  /** Delayed delivery, priorities and broadcast; no visibility extension (RabbitMQ has no timeout to extend). */
  readonly capabilities: BrokerCapabilities = capabilities;
  readonly #options: ResolvedAmqpBrokerOptions;
  readonly #manager: ConnectionManager;
  readonly #topology: Topology;
  readonly #publisher: Publisher;
  readonly #consumers = new Set<AmqpConsumer>();
  readonly #subscriptions = new Set<BroadcastSubscription>();
  #closed = false;

  constructor(options: AmqpBrokerOptions = {}) {
    const resolved = resolveAmqpBrokerOptions(options);
    this.#options = resolved;
    const { logger } = resolved;
    this.#manager = new ConnectionManager(resolved);
    this.#topology = new Topology(this.#manager, resolved, logger);
    this.#publisher = new Publisher({
      manager: this.#manager,
      confirms: resolved.confirms,
      logger,
      onChannelError: (error) => this.#topology.forgetMissingExchange(error),
    });
  }

  /** Connects (idempotent). Rejects with TQ_CONNECTION at once when RabbitMQ cannot be reached. */
  async connect(options: { signal?: AbortSignal } = {}): Promise<void> {
    this.#assertOpen();
    if (options.signal?.aborted) throw abortedError(options.signal.reason);
    await this.#manager.connect(options.signal);
  }

  /**
   * Closes consumer and subscription channels (RabbitMQ requeues unsettled deliveries, marked
   * redelivered), waits briefly for publishes under way to be confirmed, and closes the connection
   * if the broker opened it (never a connection passed in).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([
      ...[...this.#consumers].map((consumer) => consumer.closeNow()),
      ...[...this.#subscriptions].map((subscription) => subscription.cancel()),
    ]);
    this.#consumers.clear();
    this.#subscriptions.clear();
    await this.#publisher.close(CLOSE_GRACE_MS);
    await this.#manager.close();
  }

  /**
   * Declares queues with their exchanges and bindings (Celery's `task_queues`). A queue or exchange
   * that exists with other arguments or type rejects with TQ_CONFIG naming it; the broker goes on.
   */
  async declareQueues(queues: readonly QueueDeclaration[]): Promise<void> {
    await this.#ready();
    await this.#topology.declare(queues, this.#deadline());
  }

  /**
   * Publishes and resolves once RabbitMQ confirmed. The default exchange `""` goes to the queue named
   * by the routing key (declared first if this broker did not yet); a named exchange must exist
   * (TQ_CONFIG otherwise). With `deliverAt` in the future the message goes through Celery's native
   * delayed delivery; when the target's queues are unknown (a named exchange with no queue declared
   * through this broker) it is published at once and the worker waits for its ETA.
   */
  async publish(
    message: TransportMessage,
    target: PublishTarget,
    options: PublishOptions = {},
  ): Promise<void> {
    const { signal, deliverAt } = options;
    if (signal?.aborted) throw abortedError(signal.reason);
    if (target.exchange === "" && target.routingKey === "") {
      throw new TqError("TQ_CONFIG", "the default exchange needs the queue name as routing key", {
        component: "amqp",
      });
    }
    const content = bodyBuffer(message);
    const publishOptions = toPublishOptions(message);
    await this.#ready(signal);
    const deadline = this.#deadline();
    let { exchange, routingKey } = target;
    const delayMs = deliverAt ? deliverAt.getTime() - Date.now() : 0;
    if (delayMs > 0 && (await this.#topology.prepareDelayed(target, deadline))) {
      // Enter at the level of the delay's highest set bit: the same path as Celery's entry at
      // celery_delayed_27, without 27 − n empty topic-exchange hops (about 10× less RabbitMQ CPU).
      ({ exchange, routingKey } = delayedPublishTarget(delayMs, target.routingKey));
    } else if (!this.#topology.isReady(target)) {
      if (exchange === "") await this.#topology.ensureQueue(routingKey, deadline);
      else await this.#topology.ensureExchange(exchange, deadline);
    }
    await this.#publisher.publish(exchange, routingKey, content, publishOptions, { deadline, signal });
  }

  /** Consumes the queues (declaring them when needed) on a channel of its own with `prefetch` as its qos. */
  async consume(
    queues: readonly string[],
    handler: DeliveryHandler,
    options: ConsumeOptions,
  ): Promise<Consumer> {
    const { prefetch, signal } = options;
    if (!Number.isInteger(prefetch) || prefetch < 1 || prefetch > 65_535) {
      throw new TqError("TQ_CONFIG", `prefetch must be an integer from 1 to 65535, got ${prefetch}`, {
        component: "amqp",
      });
    }
    if (queues.length === 0) {
      throw new TqError("TQ_CONFIG", "consume needs at least one queue", { component: "amqp" });
    }
    if (signal?.aborted) throw abortedError(signal.reason);
    await this.#ready(signal);
    const { logger, connectTimeoutMs: timeoutMs } = this.#options;
    const context = { manager: this.#manager, topology: this.#topology, logger, timeoutMs };
    const consumer = new AmqpConsumer(context, [...new Set(queues)], handler, prefetch);
    this.#consumers.add(consumer);
    // Kept until its channel is closed (after the deliveries it handed out are settled), so close()
    // can close a cancelled consumer's channel too.
    void consumer.finished.then(() => this.#consumers.delete(consumer));
    const cancel = async (): Promise<void> => {
      signal?.removeEventListener("abort", onAbort);
      await consumer.cancel();
    };
    const onAbort = (): void => void cancel();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await consumer.start();
    } catch (error) {
      await cancel();
      throw error;
    }
    return { cancel };
  }

  /** Deletes a queue's ready messages (not those held by consumers); 0 for a queue that does not exist. */
  async purge(queue: string): Promise<number> {
    await this.#ready();
    return this.#topology.purge(queue, this.#deadline());
  }

  /** A queue's ready messages, not counting those held by consumers; 0 for a queue that does not exist. */
  async queueLength(queue: string): Promise<number> {
    await this.#ready();
    return this.#topology.count(queue, this.#deadline());
  }

  /**
   * Publishes to a fanout exchange (declared non-durable unless it exists) or, with `exchangeType:
   * "topic"`, to a durable topic exchange as Celery's `celeryev`; confirmed like any publish.
   */
  async broadcast(
    exchange: string,
    message: TransportMessage,
    options: BroadcastOptions = {},
  ): Promise<void> {
    assertNamedExchange(exchange);
    const content = bodyBuffer(message);
    const publishOptions = toPublishOptions(message);
    await this.#ready();
    const deadline = this.#deadline();
    await this.#topology.ensureFanout(exchange, deadline, options.exchangeType ?? "fanout");
    await this.#publisher.publish(exchange, options.routingKey ?? "", content, publishOptions, { deadline });
  }

  /** Receives what is broadcast to the exchange from now on, through an exclusive server-named queue. */
  async subscribeBroadcast(exchange: string, handler: BroadcastHandler): Promise<Consumer> {
    assertNamedExchange(exchange);
    await this.#ready();
    const { logger, connectTimeoutMs: timeoutMs } = this.#options;
    const context = { manager: this.#manager, topology: this.#topology, logger, timeoutMs };
    const subscription = new BroadcastSubscription(context, exchange, handler);
    this.#subscriptions.add(subscription);
    try {
      await subscription.start();
    } catch (error) {
      this.#subscriptions.delete(subscription);
      await subscription.cancel();
      throw error;
    }
    return {
      cancel: async () => {
        this.#subscriptions.delete(subscription);
        await subscription.cancel();
      },
    };
  }

  // The first connection is made here (failing fast); later outages are waited out by each operation.
  async #ready(signal?: AbortSignal): Promise<void> {
    this.#assertOpen();
    if (this.#manager.generation === 0) await this.#manager.connect(signal);
  }

  #deadline(): number {
    return Date.now() + this.#options.publishTimeoutMs;
  }

  #assertOpen(): void {
    if (this.#closed) throw new TqError("TQ_CLOSED", "the AMQP broker is closed", { component: "amqp" });
  }
}

/** Creates an {@link AmqpBroker}. */
export function amqpBroker(options: AmqpBrokerOptions = {}): AmqpBroker {
  return new AmqpBroker(options);
}

function assertNamedExchange(exchange: string): void {
  if (exchange === "") {
    throw new TqError("TQ_CONFIG", "broadcast needs a named exchange, not the default one", {
      component: "amqp",
    });
  }
}
