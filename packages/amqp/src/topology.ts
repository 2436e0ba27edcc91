import { type Logger, type PublishTarget, type QueueDeclaration, TqError } from "@tq/core";
import type { Channel } from "amqplib";
import { type ConnectionManager, messageOf, replyCodeOf, serverTextOf } from "./connection-manager.js";
import { bindQueueForDelayedDelivery, declareDelayedTopology } from "./delayed-delivery.js";

/** Broker-wide arguments of the task queues a broker declares. */
export interface QueueDefaults {
  readonly queueType: "classic" | "quorum";
  readonly maxPriority: number | undefined;
  readonly deadLetterExchange: string | undefined;
  readonly delayedDeliveryQueueType: "classic" | "quorum";
}

interface Binding {
  readonly queue: string;
  readonly exchange: string;
  readonly type: "direct" | "topic" | "fanout";
  readonly key: string;
}

/**
 * The exchanges, queues and bindings a broker needs, declared as Celery declares them: a task queue
 * is durable and bound to its exchange (durable, direct unless told otherwise; by default named like
 * the queue, with the queue name as binding key). Each is declared once per connection: what was
 * declared is remembered until a reconnection, when it is declared again on first use.
 *
 * Explicit declarations ({@link declare}) report a conflict with what exists (RabbitMQ's
 * PRECONDITION_FAILED) as one TQ_CONFIG error naming the queue or exchange and RabbitMQ's words;
 * the implicit ones made before publishing or consuming ({@link ensureQueue}) log it and go on with
 * the queue as it exists, since a queue that exists is all a publish or a consumer needs.
 */
export class Topology {
  readonly #manager: ConnectionManager;
  readonly #defaults: QueueDefaults;
  readonly #logger: Logger;
  readonly #declarations = new Map<string, QueueDeclaration>();
  readonly #bindings = new Map<string, Binding>();
  #generation = -1;
  #pending = new Map<string, Promise<void>>();
  #ready = new Set<string>();

  constructor(manager: ConnectionManager, defaults: QueueDefaults, logger: Logger) {
    this.#manager = manager;
    this.#defaults = defaults;
    this.#logger = logger;
  }

  /** The `x-…` arguments of a task queue: queue type, priorities, dead-lettering. */
  queueArguments(declaration: QueueDeclaration): Record<string, unknown> {
    const args: Record<string, unknown> = {};
    const { queueType, deadLetterExchange } = this.#defaults;
    const maxPriority = declaration.maxPriority ?? this.#defaults.maxPriority;
    if (queueType === "quorum") args["x-queue-type"] = "quorum";
    else if (maxPriority !== undefined) args["x-max-priority"] = maxPriority;
    if (deadLetterExchange !== undefined) args["x-dead-letter-exchange"] = deadLetterExchange;
    return args;
  }

  /** True when the target needs no declaration before a publish (the fast path of publishing). */
  isReady(target: PublishTarget): boolean {
    this.#sync();
    return this.#ready.has(target.exchange === "" ? `q:${target.routingKey}` : `x:${target.exchange}`);
  }

  /** Declares queues, exchanges and bindings; a conflict with what exists rejects with TQ_CONFIG. */
  async declare(declarations: readonly QueueDeclaration[], deadline: number): Promise<void> {
    for (const declaration of declarations) {
      if (typeof declaration.name !== "string" || declaration.name === "") {
        throw configError("a queue declaration needs a non-empty name");
      }
    }
    await this.#manager.withAdminChannel(deadline, async (channel) => {
      for (const declaration of declarations) await this.#declareOne(channel, declaration);
    });
  }

  /** Before publishing or consuming: makes sure a queue exists (once per connection; conflicts are logged). */
  ensureQueue(queue: string, deadline: number): Promise<void> {
    return this.#once(`q:${queue}`, () =>
      this.#manager
        .withAdminChannel(deadline, (channel) =>
          this.#declareOne(channel, this.#declarations.get(queue) ?? { name: queue }),
        )
        .catch((error: unknown) => {
          if (TqError.is(error, "TQ_CONNECTION") || TqError.is(error, "TQ_CLOSED")) throw error;
          // The queue exists with other arguments (or belongs to another connection): use it as it is.
          const log =
            TqError.is(error, "TQ_CONFIG") && /inequivalent/i.test(messageOf(error)) ? "warn" : "debug";
          this.#logger[log]("using the queue as it exists on RabbitMQ", { "tq.queue": queue, error });
        }),
    );
  }

  /** Forgets that a queue was declared (RabbitMQ deleted it), so the next use declares it again. */
  forgetQueue(queue: string): void {
    this.#ready.delete(`q:${queue}`);
  }

  /**
   * After RabbitMQ closed a channel with `404 NOT_FOUND - no exchange 'x'`: forgets that the
   * exchange exists, so the next publish to it checks again and fails with TQ_CONFIG.
   */
  forgetMissingExchange(error: unknown): void {
    const missing = /no exchange '(.*)' in vhost/.exec(serverTextOf(error))?.[1];
    if (replyCodeOf(error) === 404 && missing !== undefined) this.#ready.delete(`x:${missing}`);
  }

  /** Before publishing to a named exchange: checks that it exists (TQ_CONFIG if not), once per connection. */
  ensureExchange(exchange: string, deadline: number): Promise<void> {
    return this.#once(`x:${exchange}`, () =>
      this.#manager.withAdminChannel(deadline, async (channel) => {
        try {
          await channel.checkExchange(exchange);
        } catch (error) {
          throw declarationError(error, `publish to exchange "${exchange}"`);
        }
      }),
    );
  }

  /**
   * An exchange for broadcasts: a non-durable fanout as Celery's pidbox, or a durable topic as Celery's
   * events exchange `celeryev`; one that exists is used as it is.
   */
  ensureFanout(exchange: string, deadline: number, type: "fanout" | "topic" = "fanout"): Promise<void> {
    return this.#once(`x:${exchange}`, () =>
      this.#manager.withAdminChannel(deadline, async (channel) => {
        try {
          await channel.assertExchange(exchange, type, { durable: type === "topic", autoDelete: false });
          return;
        } catch (error) {
          if (replyCodeOf(error) !== 406) throw declarationError(error, `declare exchange "${exchange}"`);
          // Another type or durability (e.g. Celery's durable topic `celeryev`): it exists, use it.
          this.#logger.debug("using the broadcast exchange as it exists", { "tq.exchange": exchange, error });
        }
        // The 406 closed this channel; make sure on a fresh one that the exchange is there.
        await this.#manager.withAdminChannel(deadline, (fresh) => fresh.checkExchange(exchange));
      }),
    );
  }

  /**
   * Makes a delayed publish to `target` possible (Celery's native delayed delivery): the
   * `celery_delayed_*` topology once per connection, and the target queues bound to
   * `celery_delayed_delivery`. Resolves to false when the target's queues are unknown (a named
   * exchange nothing was declared on through this broker, or a fanout one): the caller then
   * publishes at once and the worker waits for the ETA, as Celery does for direct exchanges.
   */
  async prepareDelayed(target: PublishTarget, deadline: number): Promise<boolean> {
    let pairs: { queue: string; key: string }[];
    if (target.exchange === "") {
      await this.ensureQueue(target.routingKey, deadline);
      pairs = [{ queue: target.routingKey, key: target.routingKey }];
    } else {
      pairs = [...this.#bindings.values()].filter(
        (binding) => binding.exchange === target.exchange && binding.type !== "fanout",
      );
    }
    if (pairs.length === 0) return false;
    const queueType = this.#defaults.delayedDeliveryQueueType;
    await this.#once("delayed", () =>
      this.#manager.withAdminChannel(deadline, (channel) => declareDelayedTopology(channel, { queueType })),
    );
    for (const { queue, key } of pairs) {
      await this.#once(`d:${queue}\0${key}`, () =>
        this.#manager.withAdminChannel(deadline, async (channel) => {
          try {
            await bindQueueForDelayedDelivery(channel, queue, key);
          } catch (error) {
            throw declarationError(error, `bind queue "${queue}" for delayed delivery`);
          }
        }),
      );
    }
    return true;
  }

  /** Deletes a queue's ready messages; 0 for a queue that does not exist. */
  purge(queue: string, deadline: number): Promise<number> {
    return this.#query(queue, deadline, async (channel) => (await channel.purgeQueue(queue)).messageCount);
  }

  /** A queue's ready messages; 0 for a queue that does not exist. */
  count(queue: string, deadline: number): Promise<number> {
    return this.#query(queue, deadline, async (channel) => (await channel.checkQueue(queue)).messageCount);
  }

  async #query(queue: string, deadline: number, run: (channel: Channel) => Promise<number>): Promise<number> {
    return this.#manager.withAdminChannel(deadline, async (channel) => {
      try {
        return await run(channel);
      } catch (error) {
        if (replyCodeOf(error) === 404) return 0;
        throw declarationError(error, `read queue "${queue}"`);
      }
    });
  }

  // Queue first, so that a queue RabbitMQ refuses (another connection's exclusive queue, say) leaves
  // no exchange behind; then its exchange and the binding, as kombu's `Queue.declare`.
  async #declareOne(channel: Channel, declaration: QueueDeclaration): Promise<void> {
    const generation = this.#manager.generation;
    const { name } = declaration;
    const exchange = declaration.exchange ?? name;
    const type = declaration.exchangeType ?? "direct";
    const key = declaration.routingKey ?? name;
    const args = this.queueArguments(declaration);
    const queueOptions = { durable: true, autoDelete: false, exclusive: false, arguments: args };
    try {
      await channel.assertQueue(name, queueOptions);
    } catch (error) {
      throw declarationError(error, `declare queue "${name}" with arguments ${JSON.stringify(args)}`);
    }
    if (exchange !== "") {
      try {
        await channel.assertExchange(exchange, type, { durable: true, autoDelete: false });
      } catch (error) {
        throw declarationError(
          error,
          `declare exchange "${exchange}" (${type}, durable) for queue "${name}"`,
        );
      }
      try {
        await channel.bindQueue(name, exchange, key);
      } catch (error) {
        throw declarationError(error, `bind queue "${name}" to exchange "${exchange}" with key "${key}"`);
      }
      this.#bindings.set(`${name}\0${exchange}\0${key}`, { queue: name, exchange, type, key });
    }
    this.#declarations.set(name, declaration);
    this.#sync();
    if (this.#generation !== generation) return; // Declared on a connection that is gone.
    this.#ready.add(`q:${name}`);
    if (exchange !== "") this.#ready.add(`x:${exchange}`);
  }

  // Runs a declaration once per connection; a failure is forgotten so that the next call tries again.
  #once(key: string, run: () => Promise<void>): Promise<void> {
    this.#sync();
    if (this.#ready.has(key)) return Promise.resolve();
    let pending = this.#pending.get(key);
    if (!pending) {
      const generation = this.#generation;
      pending = run().then(
        () => {
          if (this.#generation === generation) this.#ready.add(key);
          this.#pending.delete(key);
        },
        (error: unknown) => {
          this.#pending.delete(key);
          throw error;
        },
      );
      this.#pending.set(key, pending);
    }
    return pending;
  }

  // Forgets what was declared when the connection changed: RabbitMQ may have restarted without it.
  #sync(): void {
    const generation = this.#manager.generation;
    if (generation === this.#generation) return;
    this.#generation = generation;
    this.#pending = new Map();
    this.#ready = new Set();
  }
}

/**
 * One clear error for a failed declaration (`cannot <what>: …`, quoting RabbitMQ): TQ_CONFIG when
 * RabbitMQ refused it — 406 PRECONDITION_FAILED (it exists with other arguments or type), 404
 * NOT_FOUND, 403 ACCESS_REFUSED, 405 RESOURCE_LOCKED; TQ_CONNECTION when the connection failed.
 */
export function declarationError(error: unknown, what: string): TqError {
  if (TqError.is(error)) return error;
  const code = replyCodeOf(error);
  const server = serverTextOf(error);
  if (code === 406) {
    return configError(
      `cannot ${what}: it exists on RabbitMQ with other arguments or type (${server}); delete it, or configure tq to declare it as it exists (queueType, maxPriority, deadLetterExchange)`,
      error,
    );
  }
  if (code === 404 || code === 403 || code === 405) return configError(`cannot ${what}: ${server}`, error);
  return new TqError("TQ_CONNECTION", `cannot ${what}: ${server}`, { cause: error, component: "amqp" });
}

function configError(message: string, cause?: unknown): TqError {
  return new TqError("TQ_CONFIG", message, { component: "amqp", ...(cause === undefined ? {} : { cause }) });
}
