import type { Logger } from "@tq/core";
import type { Channel, ChannelModel, ConsumeMessage, Options } from "amqplib";
import type { ConnectionManager } from "./connection-manager.js";
import type { ResolvedRpcBackendOptions } from "./rpc-backend-options.js";

/**
 * How Celery declares a client's reply queue (`RPCBackend.binding`): named after the client's oid,
 * not durable, auto-delete, not exclusive, with `x-expires` = `result_expires` in ms (absent when
 * results never expire). Checked against Celery 5.2.6 on RabbitMQ:
 * `<oid>  durable=false  auto_delete=true  exclusive=false  [{"x-expires",86400000}]`.
 *
 * Consequences: the queue is deleted as soon as its last consumer goes (the client closed, or its
 * connection dropped), and RabbitMQ drops results published to it until the client declares it
 * again; a queue nobody ever consumed lives until `x-expires`.
 */
export function replyQueueOptions(expiresMs: number | null): Options.AssertQueue {
  return {
    durable: false,
    autoDelete: true,
    exclusive: false,
    arguments: expiresMs === null ? {} : { "x-expires": expiresMs },
  };
}

/** Options of {@link ReplyQueue}. */
export interface ReplyQueueOptions {
  readonly manager: ConnectionManager;
  /** The queue's name (the backend's `replyTo`). */
  readonly name: string;
  readonly settings: ResolvedRpcBackendOptions;
  /** Receives each result message. */
  onMessage(message: ConsumeMessage): void;
  readonly logger: Logger;
}

interface Session {
  readonly model: ChannelModel;
  readonly ready: Promise<Channel>;
}

/**
 * The reply queue and its consumer, on a channel of its own: declared as Celery declares it and
 * consumed without acks, as Celery's `ResultConsumer` does (`no_ack=True`). Delivery is at most
 * once: a result is RabbitMQ's to forget once it reached the client, which only keeps it in memory.
 *
 * On every new connection, and whenever the consumer is lost while the connection stays up (its
 * channel closed, or RabbitMQ cancelled it because the queue was deleted), the queue is declared
 * and consumed again, with the reconnect backoff between failed attempts. A separate channel from
 * the publisher's means a channel error while publishing cannot cancel the consumer (and, the queue
 * being auto-delete, delete the queue).
 */
export class ReplyQueue {
  readonly #options: ReplyQueueOptions;
  #session: Session | undefined;
  #closed = false;

  constructor(options: ReplyQueueOptions) {
    this.#options = options;
    options.manager.onConnect((model) => void this.#keepConsuming(model));
  }

  /** Declares and consumes the queue on `model` (once per connection); rejects when that failed. */
  async consumeOn(model: ChannelModel): Promise<void> {
    await this.#ensure(model);
  }

  /** Stops consuming (the auto-delete queue then goes away) by closing the channel. */
  async close(): Promise<void> {
    this.#closed = true;
    const session = this.#session;
    this.#session = undefined;
    const channel = await session?.ready.catch(() => undefined);
    await channel?.close().catch(() => {});
  }

  #ensure(model: ChannelModel): Promise<Channel> {
    if (this.#session?.model === model) return this.#session.ready;
    const session: Session = { model, ready: this.#declareAndConsume(model, () => this.#lost(session)) };
    this.#session = session;
    session.ready.catch(() => {
      if (this.#session === session) this.#session = undefined;
    });
    return session.ready;
  }

  async #declareAndConsume(model: ChannelModel, onLost: () => void): Promise<Channel> {
    const { manager, name, settings, onMessage } = this.#options;
    const channel = await manager.openChannel(model, "plain");
    let stopping = false;
    const lost = (): void => {
      if (stopping) return;
      stopping = true;
      onLost();
    };
    channel.on("close", lost);
    try {
      await channel.assertQueue(name, replyQueueOptions(settings.resultExpiresMs));
      await channel.consume(
        name,
        (message) => {
          if (message !== null) return onMessage(message);
          // null: RabbitMQ cancelled the consumer (the queue was deleted under us).
          lost();
          channel.close().catch(() => {});
        },
        { noAck: true },
      );
    } catch (error) {
      stopping = true;
      await channel.close().catch(() => {});
      throw error;
    }
    if (this.#closed) {
      stopping = true;
      await channel.close().catch(() => {});
    }
    return channel;
  }

  #lost(session: Session): void {
    if (this.#session === session) this.#session = undefined;
    // Deferred: when a whole connection closes, its channels report first; by the next turn the
    // manager saw the connection go and will call #keepConsuming on the next one.
    setImmediate(() => {
      if (this.#closed || this.#options.manager.current !== session.model) return;
      this.#options.logger.warn("the rpc:// reply queue consumer was lost; consuming again", {
        "tq.queue": this.#options.name,
      });
      void this.#keepConsuming(session.model);
    });
  }

  /** Consumes on `model`, trying again with backoff while it is the connection and the backend is open. */
  async #keepConsuming(model: ChannelModel): Promise<void> {
    const { manager, settings, logger, name } = this.#options;
    let delayMs = settings.reconnect.initialDelayMs;
    while (!this.#closed && manager.current === model) {
      try {
        await this.#ensure(model);
        return;
      } catch (error) {
        logger.warn("cannot consume the rpc:// reply queue; trying again", { "tq.queue": name, error });
      }
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      delayMs = Math.min(settings.reconnect.maxDelayMs, delayMs * settings.reconnect.factor);
    }
  }
}
