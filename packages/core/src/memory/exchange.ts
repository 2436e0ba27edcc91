/** The exchange types of AMQP that the memory broker routes like RabbitMQ. */
export type MemoryExchangeType = "direct" | "topic" | "fanout";

interface Binding {
  readonly queue: string;
  readonly key: string;
}

/** A named exchange and its bindings (the default exchange `""` is not one: it routes by queue name). */
export class Exchange {
  readonly name: string;
  readonly type: MemoryExchangeType;
  readonly #bindings: Binding[] = [];

  constructor(name: string, type: MemoryExchangeType) {
    this.name = name;
    this.type = type;
  }

  /** Binds a queue with a binding key; binding the same pair twice changes nothing, as in AMQP. */
  bind(queue: string, key: string): void {
    if (!this.#bindings.some((b) => b.queue === queue && b.key === key)) this.#bindings.push({ queue, key });
  }

  /** Names of the queues a message with this routing key goes to, each once. */
  route(routingKey: string, { everyBinding = false } = {}): string[] {
    const matched = new Set<string>();
    for (const binding of this.#bindings) {
      if (everyBinding || this.#matches(binding.key, routingKey)) matched.add(binding.queue);
    }
    return [...matched];
  }

  #matches(bindingKey: string, routingKey: string): boolean {
    if (this.type === "fanout") return true;
    if (this.type === "direct") return bindingKey === routingKey;
    return topicMatches(bindingKey, routingKey);
  }
}

/**
 * AMQP topic matching: words are separated by dots, `*` stands for exactly one word and `#` for zero
 * or more words.
 */
export function topicMatches(pattern: string, routingKey: string): boolean {
  return matchWords(pattern.split("."), 0, routingKey.split("."), 0);
}

function matchWords(pattern: string[], p: number, words: string[], w: number): boolean {
  if (p === pattern.length) return w === words.length;
  const token = pattern[p];
  if (token === "#") {
    // `#` may swallow any number of words, including none.
    for (let skip = w; skip <= words.length; skip++) {
      if (matchWords(pattern, p + 1, words, skip)) return true;
    }
    return false;
  }
  if (w === words.length) return false;
  return (token === "*" || token === words[w]) && matchWords(pattern, p + 1, words, w + 1);
}
