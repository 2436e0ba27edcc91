/** kombu's separator between a queue name and its priority step, and inside binding members. */
export const SEP = "\x06\x16";

/** What decides the key names. */
export interface KeyLayoutOptions {
  /** Celery's `global_keyprefix`, in front of every key and channel. */
  prefix: string;
  /** Redis Cluster: every queue gets its own hash-tagged bookkeeping. */
  cluster: boolean;
  /** Database number, part of fanout channel names (pub/sub is not per database). */
  db: number;
  /** Ascending priority steps starting with 0. */
  prioritySteps: readonly number[];
}

/**
 * The broker's key layout, one method per key.
 *
 * Standalone and Sentinel use kombu's names exactly, so Python Celery and tq share queues and
 * recover each other's messages: the list `<queue>` (priority buckets `<queue>\x06\x16<step>`), and
 * the `unacked` hash, `unacked_index` sorted set and `unacked_mutex` shared by every queue.
 *
 * Redis Cluster cannot run a script over keys of different slots, so each queue keeps its own
 * bookkeeping under a hash tag: `{<queue>}`, `{<queue>}\x06\x16<step>`, `{<queue>}.unacked`,
 * `{<queue>}.unacked_index`, `{<queue>}.unacked_mutex`. (Python Celery has no Cluster support.)
 */
export class KeyLayout {
  readonly cluster: boolean;
  readonly #prefix: string;
  readonly #db: number;
  readonly #steps: readonly number[];

  constructor(options: KeyLayoutOptions) {
    this.cluster = options.cluster;
    this.#prefix = options.prefix;
    this.#db = options.db;
    this.#steps = options.prioritySteps;
  }

  /** The priority steps, highest priority (lowest number) first. */
  get steps(): readonly number[] {
    return this.#steps;
  }

  /** The list of a priority step: the bare queue key for step 0. */
  bucket(queue: string, step: number): string {
    const base = this.cluster ? `${this.#prefix}{${queue}}` : this.#prefix + queue;
    return step === 0 ? base : `${base}${SEP}${step}`;
  }

  /** Every list of a queue, served first to last. */
  buckets(queue: string): string[] {
    return this.#steps.map((step) => this.bucket(queue, step));
  }

  /** The list a message of this priority goes to (kombu's `_q_for_pri`). */
  bucketFor(queue: string, priority: unknown): string {
    return this.bucket(queue, this.stepFor(priority));
  }

  /** The largest step ≤ the priority clamped to 0..9; 0 when it is missing or not a number. */
  stepFor(priority: unknown): number {
    const number = typeof priority === "number" ? priority : Number(priority);
    const clamped = Number.isFinite(number) ? Math.max(0, Math.min(9, Math.trunc(number))) : 0;
    let step = 0;
    for (const candidate of this.#steps) if (candidate <= clamped) step = candidate;
    return step;
  }

  /** Hash tag → `[envelope, exchange, routing_key]` JSON of the messages consumers hold. */
  unacked(queue: string): string {
    return this.#bookkeeping(queue, "unacked");
  }

  /** Sorted set tag → when it was taken (or last extended), in seconds. */
  unackedIndex(queue: string): string {
    return this.#bookkeeping(queue, "unacked_index");
  }

  /** The lock one restorer holds while it puts stale messages back. */
  unackedMutex(queue: string): string {
    return this.#bookkeeping(queue, "unacked_mutex");
  }

  /** The set of an exchange's bindings. */
  binding(exchange: string): string {
    return `${this.#prefix}_kombu.binding.${exchange}`;
  }

  /** Pub/sub channel of a fanout exchange: `/<db>.<exchange>[/<routing key>]`. */
  fanoutChannel(exchange: string, routingKey = ""): string {
    const channel = `${this.#prefix}/${this.#db}.${exchange}`;
    return routingKey === "" ? channel : `${channel}/${routingKey}`;
  }

  /** PSUBSCRIBE patterns receiving an exchange's fanout messages with and without a routing key. */
  fanoutPatterns(exchange: string): [string, string] {
    const exact = globEscape(this.fanoutChannel(exchange));
    return [exact, `${exact}/*`];
  }

  /** Channel on which tq publishers wake the consumers of a queue (tq's own; kombu has none). */
  wakeChannel(queue: string): string {
    return `${this.#prefix}/${this.#db}.tq.wake.${queue}`;
  }

  #bookkeeping(queue: string, name: string): string {
    return this.cluster ? `${this.#prefix}{${queue}}.${name}` : this.#prefix + name;
  }
}

/** A binding member: `routing_key \x06\x16 pattern \x06\x16 queue`, as kombu writes it. */
export function bindingMember(routingKey: string, queue: string, pattern = ""): string {
  return `${routingKey}${SEP}${pattern}${SEP}${queue}`;
}

/** Splits a binding member; null when it is not one. */
export function parseBindingMember(member: string): { routingKey: string; queue: string } | null {
  const parts = member.split(SEP);
  if (parts.length !== 3) return null;
  return { routingKey: parts[0] as string, queue: parts[2] as string };
}

function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}
