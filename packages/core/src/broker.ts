import type { TransportMessage } from "./message/types.js";

/**
 * What a broker can do natively. Capabilities are data, not `instanceof`: the app and the worker read
 * them to decide, e.g., whether to hold an ETA task in memory or let the broker delay it.
 */
export interface BrokerCapabilities {
  /** The broker holds a message until `deliverAt` by itself (see {@link PublishOptions.deliverAt}). */
  readonly delayedDelivery: boolean;
  /** The broker orders messages of a queue by priority. */
  readonly priorities: boolean;
  /** The broker can fan one message out to every subscriber (remote control, events). */
  readonly broadcast: boolean;
  /** A consumer can extend how long a delivered message stays invisible to others. */
  readonly visibilityExtension: boolean;
}

/** Where a message goes. Celery publishes tasks to the default exchange `""` with the queue name as routing key. */
export interface PublishTarget {
  /** Exchange name; `""` is the default exchange, which routes to the queue named by the routing key. */
  exchange: string;
  /** Routing key; with the default exchange, the queue name. */
  routingKey: string;
}

/** Options of {@link Broker.publish}. */
export interface PublishOptions {
  /**
   * Deliver no earlier than this. Honoured only by brokers whose `capabilities.delayedDelivery` is true;
   * others deliver at once and the worker waits for the message's `eta` itself.
   */
  deliverAt?: Date;
  /** Aborts a publish that is waiting (for a connection, a confirm). */
  signal?: AbortSignal;
}

/** One message handed to a consumer. It must be settled exactly once: ack, reject or requeue. */
export interface Delivery {
  /** The message as published. */
  readonly message: TransportMessage;
  /** The queue it was consumed from. */
  readonly queue: string;
  /** True when the broker delivered it before and it was not acknowledged. */
  readonly redelivered: boolean;
  /**
   * Exchange the message was published to, where the broker reports it (AMQP's `basic.deliver`,
   * kombu's `delivery_info`). The worker assumes the default exchange `""` without it.
   */
  readonly exchange?: string;
  /** Routing key it was published with, where the broker reports it; the worker assumes the queue name without it. */
  readonly routingKey?: string;
  /** Removes the message for good. */
  ack(): Promise<void>;
  /** Drops the message (or dead-letters it, where the broker is configured to). */
  reject(): Promise<void>;
  /** Puts the message back so that a consumer receives it again. */
  requeue(): Promise<void>;
  /**
   * Keeps the message invisible to other consumers for `ms` more milliseconds. Present only when
   * `capabilities.visibilityExtension` is true.
   */
  extendVisibility?(ms: number): Promise<void>;
}

/** Options of {@link Broker.consume}. */
export interface ConsumeOptions {
  /** The most unsettled deliveries this consumer holds at once (Celery's prefetch count). Must be ≥ 1. */
  prefetch: number;
  /** Aborting it cancels the consumer, like {@link Consumer.cancel}. */
  signal?: AbortSignal;
}

/** Receives deliveries. Errors it throws are the consumer's problem: the broker logs them and goes on. */
export type DeliveryHandler = (delivery: Delivery) => void | Promise<void>;

/** A running consumer. */
export interface Consumer {
  /**
   * Stops receiving new messages. Deliveries already handed out stay valid and can still be settled;
   * a broker requeues those left unsettled when it closes.
   */
  cancel(): Promise<void>;
}

/** Options of {@link Broker.broadcast}. */
export interface BroadcastOptions {
  /**
   * The message's routing key. Fanout subscribers receive every message whatever its key; Celery's
   * events carry their type in it (`worker.heartbeat`, `task.multi`), and on Redis it ends the channel
   * name (`/<db>.celeryev/worker.heartbeat`). @default ""
   */
  routingKey?: string;
  /**
   * The exchange's type, for brokers that declare exchanges (AMQP): Celery's pidbox is a transient
   * `fanout`, its events exchange `celeryev` a durable `topic`. An exchange that exists is used as it is.
   * @default "fanout"
   */
  exchangeType?: "fanout" | "topic";
}

/** Receives broadcast messages. */
export type BroadcastHandler = (message: TransportMessage) => void | Promise<void>;

/**
 * A message broker. Implement this (and, optionally, {@link ResultBackend}) to add a transport:
 * the memory broker in `@tq/core` and the `@tq/transport-tests` suite show the expected behaviour.
 *
 * Rules every implementation follows: the constructor does no I/O; `connect()` is idempotent and
 * every other method may connect lazily; a client library instance passed in by the user is never
 * closed by the broker; a failed publish rejects.
 */
export interface Broker {
  /** What the broker supports natively. */
  readonly capabilities: BrokerCapabilities;
  /** Opens connections. Safe to call more than once. */
  connect(options?: { signal?: AbortSignal }): Promise<void>;
  /** Cancels consumers, requeues unsettled deliveries where the broker can, and closes what it opened. */
  close(): Promise<void>;
  /** Makes sure the queues exist (and are bound to their exchange, where the broker has exchanges). */
  declareQueues?(queues: readonly QueueDeclaration[]): Promise<void>;
  /** Publishes a message. Resolves once the broker accepted it. */
  publish(message: TransportMessage, target: PublishTarget, options?: PublishOptions): Promise<void>;
  /** Starts consuming from the named queues. */
  consume(queues: readonly string[], handler: DeliveryHandler, options: ConsumeOptions): Promise<Consumer>;
  /** Deletes every ready message of a queue; resolves to how many were removed. */
  purge(queue: string): Promise<number>;
  /** How many messages wait in a queue (not counting those held by consumers). */
  queueLength(queue: string): Promise<number>;
  /** Sends a message to every subscriber of a fanout exchange. Present when `capabilities.broadcast`. */
  broadcast?(exchange: string, message: TransportMessage, options?: BroadcastOptions): Promise<void>;
  /** Subscribes to a fanout exchange. Present when `capabilities.broadcast`. */
  subscribeBroadcast?(exchange: string, handler: BroadcastHandler): Promise<Consumer>;
}

/** A queue and how it is bound, as Celery's `task_queues` declares it. */
export interface QueueDeclaration {
  /** Queue name. */
  name: string;
  /** Exchange it is bound to. @default the queue name, as Celery does */
  exchange?: string;
  /** Exchange type. @default "direct" */
  exchangeType?: "direct" | "topic" | "fanout";
  /** Binding key. @default the queue name */
  routingKey?: string;
  /** Highest priority the queue orders by, where the broker supports it (`x-max-priority`). */
  maxPriority?: number;
}
