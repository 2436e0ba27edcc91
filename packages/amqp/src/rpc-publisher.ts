import { type Logger, TqError } from "@tq/core";
import type { ChannelModel, ConfirmChannel, Message, Options } from "amqplib";
import type { ConnectionManager } from "./connection-manager.js";
import { closedError, connectionError, rpcError } from "./rpc-errors.js";

/** A result on its way to a reply queue. */
export interface ReplyMessage {
  /** The reply queue (routing key on the default exchange). */
  readonly queue: string;
  readonly content: Buffer;
  readonly properties: Options.Publish;
}

interface OpenChannel {
  /** The connection it was opened on; undefined while opening. */
  model: ChannelModel | undefined;
  readonly promise: Promise<ConfirmChannel>;
}

// Celery's rpc retry policy waits 0 s, then 1 s between attempts (interval_step 1, interval_max 1).
const RETRY_INTERVAL_MAX_MS = 1_000;

/**
 * Publishes results to the default exchange, routed to the caller's reply queue, on a confirm
 * channel: `publish` resolves once RabbitMQ took the message. A publish whose confirm was lost (the
 * channel or connection closed first) is sent again until the deadline, as Celery retries it; a
 * duplicate state is harmless, since the caller keeps the latest.
 *
 * Messages are `mandatory`: when the reply queue is gone (the caller exited), RabbitMQ returns the
 * message, which is logged at debug level and otherwise ignored, as Celery ignores it: the result
 * has nowhere to go, and that is not the worker's failure.
 */
export class ReplyPublisher {
  readonly #manager: ConnectionManager;
  readonly #logger: Logger;
  #channel: OpenChannel | undefined;
  #closed = false;

  constructor(manager: ConnectionManager, logger: Logger) {
    this.#manager = manager;
    this.#logger = logger;
  }

  /**
   * Publishes and waits for the confirm. Rejects by `deadline` (epoch ms): `TQ_CONNECTION` while
   * RabbitMQ is unreachable, `TQ_TIMEOUT` when a published message was not confirmed in time.
   */
  async publish(message: ReplyMessage, deadline: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (this.#closed) throw closedError();
      try {
        const channel = await this.#channelFor(deadline);
        await confirmPublish(channel, message, deadline);
        return;
      } catch (error) {
        if (this.#closed || TqError.is(error, "TQ_CLOSED")) throw closedError();
        if (TqError.is(error, "TQ_TIMEOUT")) throw error;
        const wait = Math.min(RETRY_INTERVAL_MAX_MS, attempt * 100);
        if (Date.now() + wait >= deadline)
          throw connectionError(`publish a result to ${message.queue}`, error);
        this.#logger.debug("publishing a result failed; trying again", { "tq.queue": message.queue, error });
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  /** Closes the publishing channel (the connection is the backend's to close). */
  async close(): Promise<void> {
    this.#closed = true;
    const channel = this.#channel;
    this.#channel = undefined;
    const open = await channel?.promise.catch(() => undefined);
    await open?.close().catch(() => {});
  }

  #channelFor(deadline: number): Promise<ConfirmChannel> {
    const current = this.#channel;
    // Reused while it is opening, or open on the connection that is up now.
    if (current && (current.model === undefined || current.model === this.#manager.current)) {
      return current.promise;
    }
    const entry: OpenChannel = {
      model: undefined,
      promise: this.#manager.waitForConnection({ deadline }).then(async (up) => {
        const channel = await this.#manager.openChannel(up, "confirm");
        channel.on("close", () => {
          if (this.#channel === entry) this.#channel = undefined;
        });
        channel.on("return", (returned: Message) => {
          this.#logger.debug("a result was dropped: its reply queue does not exist (the caller is gone)", {
            "tq.queue": returned.fields.routingKey,
            "tq.task_id": returned.properties.correlationId,
          });
        });
        entry.model = up;
        return channel;
      }),
    };
    this.#channel = entry;
    entry.promise.catch(() => {
      if (this.#channel === entry) this.#channel = undefined;
    });
    return entry.promise;
  }
}

function confirmPublish(channel: ConfirmChannel, message: ReplyMessage, deadline: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(rpcError("TQ_TIMEOUT", `RabbitMQ did not confirm a result sent to ${message.queue} in time`)),
      Math.max(0, deadline - Date.now()),
    );
    const settle = (error: unknown): void => {
      clearTimeout(timer);
      if (!error) resolve();
      else reject(error instanceof Error ? error : new Error(`publish not confirmed: ${String(error)}`));
    };
    try {
      channel.publish("", message.queue, message.content, message.properties, settle);
    } catch (error) {
      // amqplib throws at once on a channel that already closed.
      settle(error);
    }
  });
}
