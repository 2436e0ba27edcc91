import {
  type BroadcastHandler,
  type BroadcastOptions,
  type Broker,
  type BrokerCapabilities,
  type ConsumeOptions,
  type Consumer,
  type DeliveryHandler,
  type Logger,
  type PublishOptions,
  type PublishTarget,
  type QueueDeclaration,
  TqError,
  type TransportMessage,
} from "@tq/core";
import { Bindings } from "./bindings.js";
import { publishBroadcast, Subscriber, subscribeBroadcast } from "./broadcast.js";
import { type RedisBrokerOptions, resolveBrokerOptions } from "./broker-options.js";
import {
  closeClient,
  createRedisClient,
  ensureConnected,
  isCluster,
  type RedisClient,
} from "./connection.js";
import { type ConsumerContext, RedisConsumer } from "./consumer.js";
import { KeyLayout } from "./keys.js";
import { BrokerScripts } from "./lua/commands.js";
import { QueueLists } from "./queues.js";
import type { RedisDelivery } from "./redis-delivery.js";
import { Restorer } from "./restore.js";
import { VisibilityKeeper } from "./visibility.js";

const capabilities: BrokerCapabilities = Object.freeze({
  delayedDelivery: false,
  priorities: true,
  broadcast: true,
  visibilityExtension: true,
});

// How long close() waits for fetches under way (they wait through a reconnect) before it gives up on
// them; a message such a fetch took is restored after the visibility timeout.
const CLOSE_GRACE_MS = 5_000;

/**
 * A {@link Broker} on Redis (≥ 6.2) with kombu's key layout and envelope, so Python Celery and tq
 * share queues and recover each other's unacknowledged messages (see {@link KeyLayout}).
 *
 * Unlike kombu, a message is popped and recorded as held in one Lua script, so a worker that dies at
 * any moment loses nothing; a living broker keeps extending the visibility of what it holds, so only
 * messages of a consumer that went away are restored. Priorities: LOWER numbers are served first, as
 * in Celery's Redis transport; on Redis Cluster that order holds within a queue, not across the
 * queues of one consumer. Broadcasts use pub/sub on kombu's `/<db>.<exchange>` channels.
 */
export class RedisBroker implements Broker {
  /** No delayed delivery (the worker holds ETA tasks, their visibility extended); the rest yes. */
  readonly capabilities: BrokerCapabilities = capabilities;
  readonly #client: RedisClient;
  readonly #ownsClient: boolean;
  readonly #logger: Logger;
  readonly #keys: KeyLayout;
  readonly #bindings: Bindings;
  readonly #lists: QueueLists;
  readonly #subscriber: Subscriber;
  readonly #visibility: VisibilityKeeper;
  readonly #restorer: Restorer;
  readonly #consumerContext: ConsumerContext;
  readonly #held = new Set<RedisDelivery>();
  readonly #consumers = new Set<RedisConsumer>();
  readonly #subscriptions = new Set<Consumer>();
  #connecting: Promise<void> | undefined;
  #closed = false;

  constructor(options: RedisBrokerOptions = {}) {
    const resolved = resolveBrokerOptions(options);
    const { url } = resolved;
    this.#logger = resolved.logger;
    this.#ownsClient = resolved.client === null;
    const clientOptions = { redisOptions: resolved.redisOptions, clusterOptions: resolved.clusterOptions };
    // Clients connect lazily: the constructor does no I/O.
    this.#client =
      resolved.client ?? createRedisClient(url!, { ...clientOptions, connectionName: "tq-broker" });
    const cluster = isCluster(this.#client);
    const db = cluster ? 0 : (url?.db ?? Number((this.#client.options as { db?: number }).db ?? 0));
    const { visibilityTimeoutMs, logger } = resolved;
    const client = this.#client;
    const keys = new KeyLayout({
      prefix: resolved.keyPrefix,
      cluster,
      db,
      prioritySteps: resolved.prioritySteps,
    });
    const scripts = new BrokerScripts(client);
    const bindings = new Bindings(client, keys);
    const held = this.#held;
    this.#keys = keys;
    this.#bindings = bindings;
    this.#lists = new QueueLists({ client, keys, scripts, bindings, logger });
    this.#subscriber = new Subscriber(
      () =>
        url
          ? createRedisClient(url, { ...clientOptions, connectionName: "tq-broker-sub", blocking: true })
          : (client as { duplicate(): RedisClient }).duplicate(),
      logger,
    );
    const intervalMs = resolved.visibilityRefreshIntervalMs;
    this.#visibility = new VisibilityKeeper({ client, keys, held, visibilityTimeoutMs, intervalMs, logger });
    this.#restorer = new Restorer({
      ...{ client, keys, scripts, bindings, visibilityTimeoutMs, logger },
      intervalMs: resolved.restoreIntervalMs,
    });
    const { pollIntervalMs } = resolved;
    const [visibility, subscriber] = [this.#visibility, this.#subscriber];
    this.#consumerContext = { scripts, keys, visibility, subscriber, held, logger, pollIntervalMs };
    if (this.#ownsClient) {
      this.#client.on("error", (error: Error) =>
        this.#logger.warn("the Redis connection failed; reconnecting", { error }),
      );
    }
  }

  /** Connects (idempotent). Rejects with `TQ_CONNECTION` when Redis cannot be reached. */
  async connect(options: { signal?: AbortSignal } = {}): Promise<void> {
    this.#assertOpen();
    throwIfAborted(options.signal);
    if (this.#client.status === "ready") return;
    this.#connecting ??= ensureConnected(this.#client, "redis").finally(() => {
      this.#connecting = undefined;
    });
    await this.#connecting;
  }

  /**
   * Stops consuming, puts every unsettled delivery back at the front of its queue marked redelivered
   * (kombu's `restore_unacked_once`), and closes the connections it opened (never a client passed in).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const stopping = Promise.all([
      ...[...this.#consumers].map((consumer) => consumer.cancel()),
      ...[...this.#subscriptions].map((subscription) => subscription.cancel()),
      this.#visibility.stop(),
      this.#restorer.stop(),
    ]);
    await Promise.race([stopping, new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref())]);
    this.#consumers.clear();
    this.#subscriptions.clear();
    const results = await Promise.allSettled([...this.#held].map((delivery) => delivery.putBack()));
    const failed = results.filter((result) => result.status === "rejected").length;
    if (failed > 0) {
      this.#logger.warn("could not put back some held messages; they return after the visibility timeout", {
        "tq.count": failed,
      });
    }
    await this.#subscriber.close();
    if (this.#ownsClient) await closeClient(this.#client);
  }

  /** Writes kombu's `_kombu.binding.<exchange>` sets; the default exchange `""` needs none. */
  async declareQueues(queues: readonly QueueDeclaration[]): Promise<void> {
    await this.#run("declare queues", () => this.#bindings.declare(queues));
  }

  /**
   * LPUSHes kombu's envelope (with a fresh `delivery_tag`) to the queue's priority bucket and wakes
   * its consumers. The default exchange routes to the queue named by the routing key; a named
   * exchange by its bindings (a message no binding matches is dropped with a warning, as AMQP does).
   */
  async publish(
    message: TransportMessage,
    target: PublishTarget,
    options: PublishOptions = {},
  ): Promise<void> {
    throwIfAborted(options.signal);
    if (target.exchange === "" && target.routingKey === "") {
      throw new TqError("TQ_CONFIG", "the default exchange needs the queue name as routing key", {
        component: "redis",
      });
    }
    await this.#run("publish", () => this.#lists.publish(message, target));
  }

  /** Starts a consumer; deliveries beyond `prefetch` unsettled ones wait in Redis. */
  async consume(
    queues: readonly string[],
    handler: DeliveryHandler,
    options: ConsumeOptions,
  ): Promise<Consumer> {
    const { prefetch, signal } = options;
    if (!Number.isInteger(prefetch) || prefetch < 1) {
      throw new TqError("TQ_CONFIG", `prefetch must be an integer ≥ 1, got ${prefetch}`, {
        component: "redis",
      });
    }
    if (queues.length === 0) {
      throw new TqError("TQ_CONFIG", "consume needs at least one queue", { component: "redis" });
    }
    throwIfAborted(signal);
    await this.#run("consume", () => this.connect());
    const consumer = new RedisConsumer(this.#consumerContext, [...new Set(queues)], handler, prefetch);
    this.#consumers.add(consumer);
    const cancel = async (): Promise<void> => {
      signal?.removeEventListener("abort", onAbort);
      this.#consumers.delete(consumer);
      await consumer.cancel();
    };
    const onAbort = (): void => void cancel();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await this.#run("consume", () => consumer.start());
    } catch (error) {
      await cancel();
      throw error;
    }
    this.#visibility.start();
    this.#restorer.start(() => [...this.#consumers].flatMap((each) => each.queues));
    return { cancel };
  }

  /** Deletes the ready messages of a queue (every priority bucket), as kombu's purge. */
  async purge(queue: string): Promise<number> {
    return this.#run("purge", () => this.#lists.purge(queue));
  }

  /** Ready messages over every priority bucket, not counting those consumers hold. */
  async queueLength(queue: string): Promise<number> {
    return this.#run("count", () => this.#lists.length(queue));
  }

  /** PUBLISHes to every subscriber of a fanout exchange (kombu's `/<db>.<exchange>` channel). */
  async broadcast(
    exchange: string,
    message: TransportMessage,
    options: BroadcastOptions = {},
  ): Promise<void> {
    assertNamedExchange(exchange);
    const routingKey = options.routingKey ?? "";
    await this.#run("broadcast", () =>
      publishBroadcast(this.#client, this.#keys, exchange, message, routingKey),
    );
  }

  /** Receives every fanout message of the exchange from now on, with or without a routing key. */
  async subscribeBroadcast(exchange: string, handler: BroadcastHandler): Promise<Consumer> {
    assertNamedExchange(exchange);
    const subscription = await this.#run("subscribe", () =>
      subscribeBroadcast(this.#subscriber, this.#keys, exchange, handler, this.#logger),
    );
    this.#subscriptions.add(subscription);
    return {
      cancel: async () => {
        this.#subscriptions.delete(subscription);
        await subscription.cancel();
      },
    };
  }

  // Connects, runs a Redis operation, and wraps driver errors as TQ_CONNECTION.
  async #run<T>(action: string, operation: () => Promise<T>): Promise<T> {
    this.#assertOpen();
    await this.connect();
    try {
      return await operation();
    } catch (cause) {
      if (TqError.is(cause)) throw cause;
      throw new TqError("TQ_CONNECTION", `cannot ${action}: ${(cause as Error).message}`, {
        cause,
        component: "redis",
      });
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new TqError("TQ_CLOSED", "the Redis broker is closed", { component: "redis" });
  }
}

/** Creates a {@link RedisBroker}. */
export function redisBroker(options: RedisBrokerOptions = {}): RedisBroker {
  return new RedisBroker(options);
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new TqError("TQ_ABORTED", "the operation was aborted", {
      cause: signal.reason,
      component: "redis",
    });
  }
}

function assertNamedExchange(exchange: string): void {
  if (exchange === "") {
    throw new TqError("TQ_CONFIG", "broadcast needs a named exchange, not the default one", {
      component: "redis",
    });
  }
}
