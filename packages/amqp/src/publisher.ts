import type { Buffer } from "node:buffer";
import { type Logger, TqError } from "@tq/core";
import type { Channel, ConfirmChannel, Options } from "amqplib";
import { abortedError, type ConnectionManager, messageOf } from "./connection-manager.js";

/** What a {@link Publisher} works with. */
export interface PublisherOptions {
  readonly manager: ConnectionManager;
  /** Publisher confirms: a publish resolves when RabbitMQ confirmed it. */
  readonly confirms: boolean;
  readonly logger: Logger;
  /** Told when RabbitMQ closed the publishing channel (e.g. 404: a publish to an exchange deleted since). */
  readonly onChannelError?: (error: Error) => void;
}

/** Bounds of one publish. */
export interface PublishLimits {
  /** Epoch ms after which the publish gives up (waiting for the connection, for room, for its confirm). */
  readonly deadline: number;
  readonly signal?: AbortSignal | undefined;
}

interface Pending {
  readonly deadline: number;
  settled: boolean;
  resolve(): void;
  reject(error: TqError): void;
}

// A publish that could not be written because its channel was already gone; safe to retry.
const NOT_SENT = Symbol("not sent");

/**
 * The broker's publishing channel: a confirm channel (unless confirms are off) on which many
 * publishes are in flight at once, each resolved by its own confirm. Writes stop while the socket's
 * buffer is full (amqplib's `publish` returned false) until the channel drains.
 *
 * When the connection drops, publishes not yet written wait for the reconnection (up to their
 * deadline, then TQ_CONNECTION); those written but not confirmed reject with TQ_CONNECTION (the
 * message may or may not have reached the queue), so none resolves unconfirmed and none vanishes. A
 * nack rejects with `TQ_PUBLISH_NACKED`; a confirm that does not come by the deadline with TQ_TIMEOUT.
 */
export class Publisher {
  readonly #options: PublisherOptions;
  readonly #pending = new Set<Pending>();
  #channel: Channel | undefined;
  #opening: Promise<Channel> | undefined;
  #lastChannelError: Error | undefined;
  #writable = true;
  #drained: Promise<void> | undefined;
  #wakeDrained: (() => void) | undefined;
  #sweeper: NodeJS.Timeout | undefined;
  #closing = false;

  constructor(options: PublisherOptions) {
    this.#options = options;
  }

  /** Publishes one message; resolves once it is confirmed (or written, without confirms). */
  async publish(
    exchange: string,
    routingKey: string,
    content: Buffer,
    options: Options.Publish,
    limits: PublishLimits,
  ): Promise<void> {
    for (;;) {
      const channel = await this.#ready(limits);
      const sent = this.#send(channel, exchange, routingKey, content, options, limits);
      if (sent !== NOT_SENT) return sent;
    }
  }

  /** Waits up to `graceMs` for the confirms under way, then closes the channel (rejecting the rest). */
  async close(graceMs: number): Promise<void> {
    this.#closing = true;
    const deadline = Date.now() + graceMs;
    while (this.#pending.size > 0 && Date.now() < deadline) await sleep(10);
    clearInterval(this.#sweeper);
    const channel = this.#channel;
    this.#channel = undefined;
    if (channel && this.#options.manager.isOpen(channel)) await channel.close().catch(() => undefined);
    this.#wakeDrained?.();
  }

  #send(
    channel: Channel,
    exchange: string,
    routingKey: string,
    content: Buffer,
    options: Options.Publish,
    limits: PublishLimits,
  ): Promise<void> | typeof NOT_SENT {
    if (!this.#options.confirms) {
      const written = this.#write(() => channel.publish(exchange, routingKey, content, options), channel);
      return written === NOT_SENT ? NOT_SENT : Promise.resolve();
    }
    let entry!: Pending;
    const confirmed = new Promise<void>((resolve, reject) => {
      entry = { deadline: limits.deadline, settled: false, resolve, reject };
    });
    const written = this.#write(
      () =>
        (channel as ConfirmChannel).publish(exchange, routingKey, content, options, (error: unknown) =>
          this.#confirmed(entry, error),
        ),
      channel,
    );
    if (written === NOT_SENT) return NOT_SENT;
    this.#pending.add(entry);
    this.#sweep();
    const { signal } = limits;
    if (signal) {
      const onAbort = (): void => this.#settle(entry, abortedError(signal.reason));
      signal.addEventListener("abort", onAbort, { once: true });
      void confirmed.then(
        () => signal.removeEventListener("abort", onAbort),
        () => signal.removeEventListener("abort", onAbort),
      );
    }
    return confirmed;
  }

  // Writes a publish frame; NOT_SENT when the channel closed meanwhile (nothing went out).
  #write(publish: () => boolean, channel: Channel): boolean | typeof NOT_SENT {
    let room: boolean;
    try {
      room = publish();
    } catch (error) {
      if (!this.#options.manager.isOpen(channel) || (error as Error).name === "IllegalOperationError") {
        return NOT_SENT;
      }
      // amqplib could not encode the properties (e.g. headers beyond the frame size).
      throw new TqError("TQ_SERIALIZATION", `cannot encode the message for AMQP: ${messageOf(error)}`, {
        cause: error,
        component: "amqp",
      });
    }
    if (!room) this.#writable = false;
    return room;
  }

  #confirmed(entry: Pending, error: unknown): void {
    if (error === null || error === undefined) {
      this.#settle(entry, undefined);
    } else if (messageOf(error) === "message nacked") {
      this.#settle(
        entry,
        new TqError("TQ_PUBLISH_NACKED", "RabbitMQ refused the message (basic.nack); it was not enqueued", {
          cause: error,
          component: "amqp",
        }),
      );
    } else {
      const reason = this.#lastChannelError ? ` (${messageOf(this.#lastChannelError)})` : "";
      this.#settle(
        entry,
        new TqError(
          "TQ_CONNECTION",
          `the channel closed before RabbitMQ confirmed the publish${reason}; the message may or may not have been enqueued`,
          { cause: error, component: "amqp" },
        ),
      );
    }
  }

  #settle(entry: Pending, error: TqError | undefined): void {
    if (entry.settled) return;
    entry.settled = true;
    this.#pending.delete(entry);
    if (error) entry.reject(error);
    else entry.resolve();
  }

  // An open channel with room to write, or a wait for one (the connection, the drain) to the deadline.
  async #ready(limits: PublishLimits): Promise<Channel> {
    const { manager } = this.#options;
    for (;;) {
      if (limits.signal?.aborted) throw abortedError(limits.signal.reason);
      const channel = this.#channel;
      if (channel && manager.isOpen(channel)) {
        if (this.#writable) return channel;
        await this.#waitForDrain(limits);
        continue;
      }
      if (this.#closing) throw new TqError("TQ_CLOSED", "the AMQP broker is closed", { component: "amqp" });
      const model = await manager.waitForConnection(limits);
      this.#opening ??= this.#open(model).finally(() => {
        this.#opening = undefined;
      });
      try {
        return await this.#opening;
      } catch (error) {
        // The connection dropped while the channel opened: wait for the next one.
        if (manager.current === model) throw error;
      }
    }
  }

  async #open(model: Parameters<ConnectionManager["openChannel"]>[0]): Promise<Channel> {
    const { manager } = this.#options;
    const channel = await manager.openChannel(model, this.#options.confirms ? "confirm" : "plain");
    channel.on("error", (error: Error) => {
      this.#lastChannelError = error;
      this.#options.logger.warn("RabbitMQ closed the publishing channel; opening another", { error });
      this.#options.onChannelError?.(error);
    });
    channel.on("drain", () => this.#drain());
    channel.once("close", () => {
      if (this.#channel === channel) this.#channel = undefined;
      this.#drain();
    });
    this.#lastChannelError = undefined;
    this.#channel = channel;
    this.#writable = true;
    return channel;
  }

  #drain(): void {
    this.#writable = true;
    const wake = this.#wakeDrained;
    this.#drained = undefined;
    this.#wakeDrained = undefined;
    wake?.();
  }

  async #waitForDrain(limits: PublishLimits): Promise<void> {
    this.#drained ??= new Promise<void>((resolve) => {
      this.#wakeDrained = resolve;
    });
    const waitMs = limits.deadline - Date.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new TqError(
              "TQ_TIMEOUT",
              "the publish found no room to write before publishTimeoutMs (RabbitMQ may be blocking publishers)",
              { component: "amqp" },
            ),
          ),
        Math.max(0, waitMs),
      );
    });
    try {
      await Promise.race([this.#drained, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  // Rejects confirms that did not come by their deadline (e.g. a connection blocked by a resource
  // alarm); one timer for all publishes, running only while some are pending.
  #sweep(): void {
    if (this.#sweeper) return;
    this.#sweeper = setInterval(() => {
      const now = Date.now();
      for (const entry of this.#pending) {
        if (entry.deadline <= now) {
          this.#settle(
            entry,
            new TqError(
              "TQ_TIMEOUT",
              "RabbitMQ did not confirm the publish within publishTimeoutMs; it may or may not have been enqueued",
              { component: "amqp" },
            ),
          );
        }
      }
      if (this.#pending.size === 0) {
        clearInterval(this.#sweeper);
        this.#sweeper = undefined;
      }
    }, 250);
    this.#sweeper.unref();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
