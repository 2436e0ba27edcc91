import type { BroadcastHandler, Consumer, Logger, TransportMessage } from "@tq/core";
import type { Channel, ChannelModel, Message } from "amqplib";
import type { ConnectionManager } from "./connection-manager.js";
import { fromAmqpMessage } from "./message-codec.js";
import { declarationError, type Topology } from "./topology.js";

/** What a subscription shares with its broker. */
export interface BroadcastContext {
  readonly manager: ConnectionManager;
  readonly topology: Topology;
  readonly logger: Logger;
  /** How long a (re)start waits for the connection and declarations. */
  readonly timeoutMs: number;
}

const RETRY_DELAY_MS = 1_000;

/**
 * A subscriber of a fanout exchange, as kombu's broadcast queues (Celery's pidbox): an exclusive,
 * auto-deleted, server-named queue on a channel of its own, bound to the exchange, consumed without
 * acks. Broadcast messages are not kept for absent subscribers: the queue goes with its connection,
 * and a new one is made on every reconnection (messages broadcast during the outage are missed, as
 * with Celery). The exchange is declared fanout and non-durable unless it exists; the binding key
 * `#` also takes every message of an existing topic exchange (e.g. Celery's `celeryev`).
 */
export class BroadcastSubscription implements Consumer {
  readonly #context: BroadcastContext;
  readonly #exchange: string;
  readonly #handler: BroadcastHandler;
  #channel: Channel | undefined;
  #active = true;
  #timer: NodeJS.Timeout | undefined;
  #stopListening: (() => void) | undefined;

  constructor(context: BroadcastContext, exchange: string, handler: BroadcastHandler) {
    this.#context = context;
    this.#exchange = exchange;
    this.#handler = handler;
  }

  /** Subscribes on the current connection (rejects when it cannot), then follows reconnections. */
  async start(): Promise<void> {
    const { manager, timeoutMs } = this.#context;
    const model = await manager.waitForConnection({ deadline: Date.now() + timeoutMs });
    await this.#open(model);
    this.#stopListening = manager.onConnect((next) => this.#restart(next));
  }

  /** Stops receiving; RabbitMQ deletes the queue with its channel. */
  async cancel(): Promise<void> {
    this.#active = false;
    clearTimeout(this.#timer);
    this.#stopListening?.();
    const channel = this.#channel;
    this.#channel = undefined;
    if (channel && this.#context.manager.isOpen(channel)) await channel.close().catch(() => undefined);
  }

  async #open(model: ChannelModel): Promise<void> {
    const { manager, topology, timeoutMs } = this.#context;
    await topology.ensureFanout(this.#exchange, Date.now() + timeoutMs);
    const channel = await manager.openChannel(model, "plain");
    try {
      const { queue } = await channel.assertQueue("", { exclusive: true, autoDelete: true, durable: false });
      await channel.bindQueue(queue, this.#exchange, "#");
      await channel.consume(queue, (message) => this.#receive(message), { noAck: true });
    } catch (error) {
      await channel.close().catch(() => undefined);
      throw declarationError(error, `subscribe to exchange "${this.#exchange}"`);
    }
    if (!this.#active) {
      await channel.close().catch(() => undefined);
      return;
    }
    channel.once("close", () => this.#lost(channel));
    this.#channel = channel;
    if (!manager.isOpen(channel)) this.#lost(channel);
  }

  #receive(raw: Message | null): void {
    const { logger } = this.#context;
    if (raw === null) {
      // RabbitMQ cancelled the consumer (the queue was deleted): subscribe again.
      this.#channel?.close().catch(() => undefined);
      return;
    }
    let message: TransportMessage;
    try {
      message = fromAmqpMessage(raw);
    } catch (error) {
      logger.warn("skipping a broadcast message that cannot be read", {
        "tq.exchange": this.#exchange,
        error,
      });
      return;
    }
    const failed = (error: unknown): void =>
      logger.error("a broadcast handler failed", { "tq.exchange": this.#exchange, error });
    try {
      const result = this.#handler(message);
      if (result instanceof Promise) result.catch(failed);
    } catch (error) {
      failed(error);
    }
  }

  #lost(channel: Channel): void {
    if (this.#channel !== channel) return;
    this.#channel = undefined;
    const current = this.#context.manager.current;
    // A lost connection is handled by the connect listener; a channel closed on a live one here.
    if (this.#active && current && current.connection === channel.connection) this.#retry(current);
  }

  #restart(model: ChannelModel): void {
    if (!this.#active) return;
    if (this.#channel && this.#channel.connection === model.connection) return;
    this.#channel = undefined;
    this.#open(model).catch((error: unknown) => this.#failed(model, error));
  }

  #retry(model: ChannelModel): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      if (this.#active && this.#context.manager.current === model) {
        this.#open(model).catch((error: unknown) => this.#failed(model, error));
      }
    }, RETRY_DELAY_MS);
  }

  #failed(model: ChannelModel, error: unknown): void {
    if (!this.#active) return;
    this.#context.logger.warn("could not resume a broadcast subscription; trying again", {
      "tq.exchange": this.#exchange,
      error,
    });
    if (this.#context.manager.current === model) this.#retry(model);
  }
}
