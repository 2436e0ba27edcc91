import { randomUUID } from "node:crypto";
import type { BroadcastHandler, Consumer, Logger, TransportMessage } from "@tq/core";
import type { Collection } from "mongodb";
import { ObjectId } from "mongodb";
import { command } from "./errors.js";
import { encodePayload, type MessageDocument, priorityOf } from "./message-codec.js";

/** A subscriber's registration in `<collection>.broadcast`. */
export interface SubscriberDocument {
  /** The subscriber's private queue in the messages collection. */
  _id: string;
  exchange: string;
  /** The TTL index removes a registration its subscriber stopped refreshing (it died). */
  expiresAt: Date;
}

/** How long a registration lives without a refresh; refreshed every third of it. */
export const SUBSCRIBER_TTL_MS = 60_000;

/** Starts a consumer of one queue for a broadcast subscription (the broker's normal consumer). */
export type StartConsumer = (
  queue: string,
  handler: (message: TransportMessage) => Promise<void>,
) => Promise<Consumer>;

/**
 * Fanout without a capped collection: every subscriber registers a private queue under the exchange's
 * name, and `broadcast` inserts one copy of the message into each registered subscriber's queue, in the
 * ordinary messages collection. Delivery then is the broker's normal claim: exactly once per
 * subscriber, woken like any consumer (change stream, in-process publish, or back-off poll).
 *
 * Why not a tailable cursor on a capped collection (kombu's `messages.broadcast`): it needs `create`
 * with `capped`, cursors that block on the server, and a rule for subscribers that fall behind the
 * cap; copies per subscriber need only insert/find/delete and a TTL index, and lose nothing for a
 * live subscriber. A subscriber that dies stops refreshing its registration (TTL 60 s); copies it
 * never read are dropped after `broadcastTtlMs`.
 */
export class BroadcastRegistry {
  readonly #subscribers: Collection<SubscriberDocument>;
  readonly #messages: Collection<MessageDocument>;
  readonly #messageTtlMs: number;
  readonly #logger: Logger;

  constructor(
    subscribers: Collection<SubscriberDocument>,
    messages: Collection<MessageDocument>,
    messageTtlMs: number,
    logger: Logger,
  ) {
    this.#subscribers = subscribers;
    this.#messages = messages;
    this.#messageTtlMs = messageTtlMs;
    this.#logger = logger;
  }

  /** Inserts a copy of the message for every live subscriber of the exchange; resolves to their queues. */
  async broadcast(exchange: string, message: TransportMessage): Promise<string[]> {
    const now = new Date();
    const subscribers = await command("read broadcast subscribers", () =>
      this.#subscribers.find({ exchange, expiresAt: { $gt: now } }).toArray(),
    );
    if (subscribers.length === 0) return [];
    const expiresAt = new Date(now.getTime() + this.#messageTtlMs);
    const copies: MessageDocument[] = subscribers.map((subscriber) => ({
      _id: new ObjectId(),
      queue: subscriber._id,
      priority: priorityOf(message),
      visibleAt: now,
      owner: null,
      deadline: null,
      deliveries: 0,
      payload: encodePayload(message),
      expiresAt,
    }));
    await command("broadcast a message", () => this.#messages.insertMany(copies, { ordered: false }));
    return copies.map((copy) => copy.queue);
  }

  /** Registers a subscriber and starts consuming its private queue. */
  async subscribe(exchange: string, handler: BroadcastHandler, start: StartConsumer): Promise<Consumer> {
    const queue = `tq.broadcast.${exchange}.${randomUUID()}`;
    const register = () =>
      command("register a broadcast subscriber", () =>
        this.#subscribers.updateOne(
          { _id: queue },
          { $set: { exchange, expiresAt: new Date(Date.now() + SUBSCRIBER_TTL_MS) } },
          { upsert: true },
        ),
      );
    await register();
    const refresh = setInterval(() => {
      register().catch((error: unknown) =>
        this.#logger.warn("cannot refresh a broadcast subscription", { error, "tq.exchange": exchange }),
      );
    }, SUBSCRIBER_TTL_MS / 3);
    refresh.unref();
    const consumer = await start(queue, async (message) => {
      await handler(message);
    });
    let cancelled: Promise<void> | undefined;
    return {
      cancel: () => {
        cancelled ??= (async () => {
          clearInterval(refresh);
          await consumer.cancel();
          await this.#subscribers.deleteOne({ _id: queue }).catch(() => {});
          await this.#messages.deleteMany({ queue }).catch(() => {});
        })();
        return cancelled;
      },
    };
  }
}
