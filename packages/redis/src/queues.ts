import { randomUUID } from "node:crypto";
import { encodeEnvelope, type Logger, type PublishTarget, type TransportMessage } from "@tq/core";
import type { Bindings } from "./bindings.js";
import type { RedisClient } from "./connection.js";
import type { KeyLayout } from "./keys.js";
import type { BrokerScripts } from "./lua/commands.js";

/** What {@link QueueLists} works with. */
export interface QueueListsOptions {
  readonly client: RedisClient;
  readonly keys: KeyLayout;
  readonly scripts: BrokerScripts;
  readonly bindings: Bindings;
  readonly logger: Logger;
}

/** The ready side of queues: their lists (one per priority bucket), written, counted and emptied. */
export class QueueLists {
  readonly #options: QueueListsOptions;

  constructor(options: QueueListsOptions) {
    this.#options = options;
  }

  /**
   * LPUSHes kombu's envelope (with a fresh `delivery_tag`) to the queue's priority bucket and wakes its
   * consumers. The default exchange routes to the queue named by the routing key; a named exchange by
   * its bindings (a message no binding matches is dropped with a warning, as AMQP drops it).
   */
  async publish(message: TransportMessage, target: PublishTarget): Promise<void> {
    const { keys, scripts, bindings, logger } = this.#options;
    const { exchange, routingKey } = target;
    const payload = encodeEnvelope(message, { exchange, routingKey, deliveryTag: randomUUID() });
    const queues = exchange === "" ? [routingKey] : await bindings.route(exchange, routingKey);
    if (queues.length === 0) {
      logger.warn("no queue is bound for this message; dropped", {
        "tq.exchange": exchange,
        "tq.routing_key": routingKey,
      });
      return;
    }
    const priority = message.properties.priority;
    await Promise.all(
      queues.map((queue) =>
        scripts.publish(keys.bucketFor(queue, priority), payload, keys.wakeChannel(queue)),
      ),
    );
  }

  /** Deletes every bucket of a queue in one transaction; resolves to how many messages they held. */
  async purge(queue: string): Promise<number> {
    const buckets = this.#options.keys.buckets(queue);
    const transaction = this.#options.client.multi();
    for (const bucket of buckets) transaction.llen(bucket);
    transaction.del(...buckets);
    const replies = (await transaction.exec()) ?? [];
    return sumReplies(replies.slice(0, buckets.length));
  }

  /** Messages waiting over every bucket of a queue. */
  async length(queue: string): Promise<number> {
    const pipeline = this.#options.client.pipeline();
    for (const bucket of this.#options.keys.buckets(queue)) pipeline.llen(bucket);
    return sumReplies((await pipeline.exec()) ?? []);
  }
}

function sumReplies(replies: [Error | null, unknown][]): number {
  let sum = 0;
  for (const [error, value] of replies) {
    if (error) throw error;
    sum += Number(value);
  }
  return sum;
}
