import type { QueueDeclaration } from "@tq/core";
import type { RedisClient } from "./connection.js";
import { bindingMember, type KeyLayout, parseBindingMember } from "./keys.js";

type ExchangeType = NonNullable<QueueDeclaration["exchangeType"]>;

/**
 * kombu's routing table: the set `_kombu.binding.<exchange>` with members
 * `routing_key \x06\x16 pattern \x06\x16 queue`. Written by declareQueues (Python workers write the
 * same sets), read when a message is published to a named exchange.
 *
 * The set does not say the exchange's type (kombu keeps it in the declaring process). The types this
 * broker declared are remembered; for other exchanges, topic matching is used, which equals direct
 * matching for binding keys without `*` or `#`.
 */
export class Bindings {
  readonly #client: RedisClient;
  readonly #keys: KeyLayout;
  readonly #types = new Map<string, ExchangeType>();

  constructor(client: RedisClient, keys: KeyLayout) {
    this.#client = client;
    this.#keys = keys;
  }

  /** Binds each queue to its exchange (the default exchange `""` needs no binding). */
  async declare(queues: readonly QueueDeclaration[]): Promise<void> {
    const writes: Promise<unknown>[] = [];
    for (const queue of queues) {
      const exchange = queue.exchange ?? queue.name;
      if (exchange === "") continue;
      this.#types.set(exchange, queue.exchangeType ?? "direct");
      const member = bindingMember(queue.routingKey ?? queue.name, queue.name);
      writes.push(this.#client.sadd(this.#keys.binding(exchange), member));
    }
    await Promise.all(writes);
  }

  /** The queues a message published to a named exchange goes to, each once. */
  async route(exchange: string, routingKey: string): Promise<string[]> {
    const members = await this.#client.smembers(this.#keys.binding(exchange));
    const type = this.#types.get(exchange) ?? "topic";
    const queues = new Set<string>();
    for (const member of members) {
      const binding = parseBindingMember(member);
      if (binding === null) continue;
      const matches =
        type === "fanout" ||
        (type === "direct"
          ? binding.routingKey === routingKey
          : topicMatches(binding.routingKey, routingKey));
      if (matches) queues.add(binding.queue);
    }
    return [...queues];
  }
}

/**
 * AMQP topic matching: dot-separated words, `*` matches exactly one word and `#` zero or more. A key
 * without wildcards matches only itself, as a direct exchange does.
 */
export function topicMatches(pattern: string, routingKey: string): boolean {
  if (!pattern.includes("*") && !pattern.includes("#")) return pattern === routingKey;
  return matchWords(pattern.split("."), 0, routingKey.split("."), 0);
}

function matchWords(pattern: string[], p: number, words: string[], w: number): boolean {
  if (p === pattern.length) return w === words.length;
  const token = pattern[p];
  if (token === "#") {
    for (let skip = w; skip <= words.length; skip++) {
      if (matchWords(pattern, p + 1, words, skip)) return true;
    }
    return false;
  }
  if (w === words.length) return false;
  return (token === "*" || token === words[w]) && matchWords(pattern, p + 1, words, w + 1);
}
