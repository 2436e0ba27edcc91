import { randomUUID } from "node:crypto";
import {
  type BroadcastHandler,
  type Consumer,
  decodeEnvelope,
  encodeEnvelope,
  type Logger,
  type TransportMessage,
} from "@tq/core";
import { closeClient, type RedisClient } from "./connection.js";
import type { KeyLayout } from "./keys.js";

type Listener = (channel: string, message: string) => void;

interface Subscription {
  readonly listeners: Set<Listener>;
  /** The (P)SUBSCRIBE reply: later listeners of the same name wait for it too. */
  readonly ready: Promise<unknown>;
}

/**
 * The broker's dedicated pub/sub connection, opened on first use: consumers' wake channels
 * (SUBSCRIBE) and broadcast exchanges (PSUBSCRIBE). ioredis re-subscribes by itself after a
 * reconnect; messages published meanwhile are missed, which the consumers' polling covers.
 */
export class Subscriber {
  readonly #open: () => RedisClient;
  readonly #logger: Logger;
  readonly #channels = new Map<string, Subscription>();
  readonly #patterns = new Map<string, Subscription>();
  #connection: RedisClient | undefined;

  constructor(open: () => RedisClient, logger: Logger) {
    this.#open = open;
    this.#logger = logger;
  }

  /** Calls `listener` for every message on `channel`; resolves to the function that stops it. */
  subscribe(channel: string, listener: Listener): Promise<() => Promise<void>> {
    return this.#add(this.#channels, "subscribe", "unsubscribe", channel, listener);
  }

  /** Calls `listener` for every message on a channel matching `pattern`. */
  psubscribe(pattern: string, listener: Listener): Promise<() => Promise<void>> {
    return this.#add(this.#patterns, "psubscribe", "punsubscribe", pattern, listener);
  }

  /** Closes the connection (it is always the broker's own). */
  async close(): Promise<void> {
    this.#channels.clear();
    this.#patterns.clear();
    const connection = this.#connection;
    this.#connection = undefined;
    if (connection) await closeClient(connection);
  }

  async #add(
    table: Map<string, Subscription>,
    command: "subscribe" | "psubscribe",
    undo: "unsubscribe" | "punsubscribe",
    name: string,
    listener: Listener,
  ): Promise<() => Promise<void>> {
    const connection = this.#connect();
    let subscription = table.get(name);
    if (!subscription) {
      subscription = { listeners: new Set(), ready: connection[command](name) };
      table.set(name, subscription);
    }
    subscription.listeners.add(listener);
    try {
      await subscription.ready;
    } catch (error) {
      if (table.get(name) === subscription) table.delete(name);
      throw error;
    }
    return async () => {
      const current = table.get(name);
      if (!current?.listeners.delete(listener) || current.listeners.size > 0) return;
      table.delete(name);
      if (this.#connection === connection && connection.status !== "end") await connection[undo](name);
    };
  }

  #connect(): RedisClient {
    if (this.#connection) return this.#connection;
    const connection = this.#open();
    connection.on("message", (channel: string, message: string) => {
      for (const listener of this.#channels.get(channel)?.listeners ?? []) listener(channel, message);
    });
    connection.on("pmessage", (pattern: string, channel: string, message: string) => {
      for (const listener of this.#patterns.get(pattern)?.listeners ?? []) listener(channel, message);
    });
    connection.on("error", (error: Error) =>
      this.#logger.warn("the Redis pub/sub connection failed; reconnecting", { error }),
    );
    this.#connection = connection;
    return connection;
  }
}

/**
 * Sends a message to every subscriber of a fanout exchange as kombu does: PUBLISH of the envelope on
 * `/<db>.<exchange>`, or `/<db>.<exchange>/<routing key>` when there is a key (kombu's fanout patterns,
 * which Celery's event receivers subscribe to). Fanout messages are not stored; a subscriber that is
 * away misses them.
 */
export async function publishBroadcast(
  client: RedisClient,
  keys: KeyLayout,
  exchange: string,
  message: TransportMessage,
  routingKey = "",
): Promise<void> {
  const payload = encodeEnvelope(message, { exchange, routingKey, deliveryTag: randomUUID() });
  await client.publish(keys.fanoutChannel(exchange, routingKey), payload);
}

/**
 * Receives an exchange's fanout messages, with and without a routing key (Celery's events come on
 * `/<db>.celeryev/<routing key>`). A message that is not an envelope is logged and skipped; a handler
 * that throws is logged.
 */
export async function subscribeBroadcast(
  subscriber: Subscriber,
  keys: KeyLayout,
  exchange: string,
  handler: BroadcastHandler,
  logger: Logger,
): Promise<Consumer> {
  const listener: Listener = (channel, text) => {
    let message: TransportMessage;
    try {
      message = decodeEnvelope(text).message;
    } catch (error) {
      logger.warn("skipping a fanout message that is not a kombu envelope", { "tq.channel": channel, error });
      return;
    }
    try {
      const result = handler(message);
      if (result instanceof Promise) {
        result.catch((error: unknown) =>
          logger.error("a broadcast handler failed", { "tq.exchange": exchange, error }),
        );
      }
    } catch (error) {
      logger.error("a broadcast handler failed", { "tq.exchange": exchange, error });
    }
  };
  const stops = await Promise.all(
    keys.fanoutPatterns(exchange).map((pattern) => subscriber.psubscribe(pattern, listener)),
  );
  let cancelled = false;
  return {
    cancel: async () => {
      if (cancelled) return;
      cancelled = true;
      await Promise.all(stops.map((stop) => stop()));
    },
  };
}
