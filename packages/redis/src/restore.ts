import { randomUUID } from "node:crypto";
import type { Logger } from "@tq/core";
import type { Bindings } from "./bindings.js";
import type { RedisClient } from "./connection.js";
import type { KeyLayout } from "./keys.js";
import type { BrokerScripts } from "./lua/commands.js";

// kombu's `unacked_mutex_expire` is 300 s; a pass of tq's takes far less, and a restorer that dies
// holding the lock should not stop the others for long.
const MUTEX_TTL_MS = 60_000;
// Stale entries read per ZREVRANGEBYSCORE (kombu's `unacked_restore_limit`, unlimited by default).
const PAGE_SIZE = 500;
// Where kombu sends a message whose named exchange no longer routes anywhere (its `deadletter_queue`).
const UNDELIVERABLE_QUEUE = "ae.undeliver";

/**
 * Marks an envelope redelivered, as kombu's `_do_restore_message` does: `headers.redelivered` and
 * `properties.delivery_info.redelivered`. Done in JS because re-encoding with Lua's cjson would change
 * the message (empty arrays become objects). Returns null when the payload is not a JSON object.
 */
export function markRedelivered(payload: string): string | null {
  let envelope: unknown;
  try {
    envelope = JSON.parse(payload);
  } catch {
    return null;
  }
  return isRecord(envelope) ? markEnvelope(envelope) : null;
}

function markEnvelope(envelope: Record<string, unknown>): string {
  const headers = isRecord(envelope.headers) ? envelope.headers : {};
  const properties = isRecord(envelope.properties) ? envelope.properties : {};
  const info = isRecord(properties.delivery_info) ? properties.delivery_info : {};
  headers.redelivered = true;
  info.redelivered = true;
  properties.delivery_info = info;
  envelope.headers = headers;
  envelope.properties = properties;
  return JSON.stringify(envelope);
}

/** What a {@link Restorer} works with. */
export interface RestorerOptions {
  readonly client: RedisClient;
  readonly scripts: BrokerScripts;
  readonly keys: KeyLayout;
  readonly bindings: Bindings;
  readonly visibilityTimeoutMs: number;
  /** Between periodic passes. */
  readonly intervalMs: number;
  readonly logger: Logger;
}

/** One set of bookkeeping keys: kombu's shared ones, or one queue's on a cluster. */
interface Bookkeeping {
  readonly unacked: string;
  readonly index: string;
  readonly mutex: string;
  /** On a cluster, the only queue this bookkeeping holds messages of. */
  readonly queue: string | null;
}

/**
 * Puts back messages whose holder stopped extending their visibility (a consumer that died), as
 * kombu's `restore_visible`: under the `unacked_mutex`, read the entries of `unacked_index` older than
 * the visibility timeout and move each back to the FRONT of its own priority bucket (kombu ≥ 5.4),
 * marked redelivered, with a compare-and-move script that skips any entry acked or extended meanwhile.
 */
export class Restorer {
  readonly #options: RestorerOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(options: RestorerOptions) {
    this.#options = options;
  }

  /**
   * Restores now (a consumer started) and then every `intervalMs`, over the queues `queues()` names,
   * without ever running two passes at once. Failures are logged at warn.
   */
  start(queues: () => Iterable<string>): void {
    const run = (): void => {
      this.#running ??= this.restore(queues())
        .then(
          () => undefined,
          (error: unknown) =>
            this.#options.logger.warn("could not restore messages past the visibility timeout", { error }),
        )
        .finally(() => {
          this.#running = undefined;
        });
    };
    run();
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(run, this.#options.intervalMs);
    this.#timer.unref();
  }

  /** Stops the periodic passes and waits for one under way. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /**
   * Restores stale messages. Standalone: every queue's (the bookkeeping is shared, as in kombu); on a
   * cluster: those of `queues`. Resolves to how many moved; a pass another restorer holds the mutex
   * for is skipped.
   */
  async restore(queues: Iterable<string>): Promise<number> {
    const { keys, logger } = this.#options;
    const books: Bookkeeping[] = keys.cluster
      ? [...new Set(queues)].map((queue) => this.#bookkeeping(queue))
      : [this.#bookkeeping("")];
    let restored = 0;
    for (const book of books) restored += await this.#restoreBook(book);
    if (restored > 0) {
      logger.info("restored messages held past the visibility timeout", { "tq.count": restored });
    }
    return restored;
  }

  #bookkeeping(queue: string): Bookkeeping {
    const { keys } = this.#options;
    return {
      unacked: keys.unacked(queue),
      index: keys.unackedIndex(queue),
      mutex: keys.unackedMutex(queue),
      queue: keys.cluster ? queue : null,
    };
  }

  async #restoreBook(book: Bookkeeping): Promise<number> {
    const token = randomUUID();
    const { client, scripts, visibilityTimeoutMs } = this.#options;
    const locked = await client.set(book.mutex, token, "PX", MUTEX_TTL_MS, "NX");
    if (locked !== "OK") return 0;
    let restored = 0;
    try {
      let offset = 0;
      for (;;) {
        const staleBefore = (Date.now() - visibilityTimeoutMs) / 1000;
        const tags = await client.zrevrangebyscore(book.index, staleBefore, 0, "LIMIT", offset, PAGE_SIZE);
        if (tags.length === 0) break;
        const values = await client.hmgetBuffer(book.unacked, ...tags);
        const moved = await Promise.all(
          tags.map((tag, i) => this.#restoreOne(book, tag, values[i] ?? null, staleBefore)),
        );
        const movedCount = moved.filter(Boolean).length;
        restored += movedCount;
        if (tags.length < PAGE_SIZE) break;
        // Entries left in place (acked, extended or unreadable) would come back on the same page.
        offset += tags.length - movedCount;
      }
    } finally {
      await scripts.releaseMutex(book.mutex, token);
    }
    return restored;
  }

  async #restoreOne(
    book: Bookkeeping,
    tag: string,
    value: Buffer | null,
    staleBefore: number,
  ): Promise<boolean> {
    if (value === null) {
      await this.#options.scripts.dropOrphan(book.unacked, book.index, tag);
      return true;
    }
    const parsed = parseUnackedValue(value.toString("utf8"));
    if (parsed === null) {
      this.#options.logger.error(
        "cannot restore an unacked entry that is not [envelope, exchange, routing_key]",
        {
          "tq.delivery_tag": tag,
        },
      );
      return false;
    }
    const targets = await this.#targets(book, parsed);
    return this.#options.scripts.move(
      book.unacked,
      book.index,
      targets,
      tag,
      value,
      staleBefore,
      "front",
      parsed.payload,
    );
  }

  // The lists a restored message goes to, as kombu's `_lookup`: the default exchange routes to the
  // queue named by the routing key; a named exchange by its bindings.
  async #targets(book: Bookkeeping, parsed: UnackedEntry): Promise<string[]> {
    const { keys, bindings, logger } = this.#options;
    if (book.queue !== null) return [keys.bucketFor(book.queue, parsed.priority)];
    let queues = [parsed.routingKey];
    if (parsed.exchange !== "") {
      queues = await bindings.route(parsed.exchange, parsed.routingKey);
      if (queues.length === 0) {
        logger.warn("a restored message's exchange routes nowhere; it goes to ae.undeliver as in kombu", {
          "tq.exchange": parsed.exchange,
          "tq.routing_key": parsed.routingKey,
        });
        queues = [UNDELIVERABLE_QUEUE];
      }
    }
    return queues.map((queue) => keys.bucketFor(queue, parsed.priority));
  }
}

/** An `unacked` hash value taken apart. */
interface UnackedEntry {
  /** The envelope to push back, marked redelivered when it is JSON. */
  payload: string;
  exchange: string;
  routingKey: string;
  priority: unknown;
}

// kombu's value is JSON `[envelope, exchange, routing_key]`. tq's fetch script writes the same by
// concatenation, so a payload that is not JSON (kept for the dead-letter path) is found by its tail.
function parseUnackedValue(text: string): UnackedEntry | null {
  try {
    const parsed: unknown = JSON.parse(text);
    if (Array.isArray(parsed) && parsed.length >= 3 && isRecord(parsed[0])) {
      const [envelope, exchange, routingKey] = parsed as [Record<string, unknown>, unknown, unknown];
      const properties = isRecord(envelope.properties) ? envelope.properties : {};
      return {
        payload: markEnvelope(envelope),
        exchange: typeof exchange === "string" ? exchange : "",
        routingKey: typeof routingKey === "string" ? routingKey : "",
        priority: properties.priority,
      };
    }
  } catch {
    // fall through to tq's own shape
  }
  const match = /^\[([\s\S]*), "", ("(?:[^"\\]|\\.)*")\]$/.exec(text);
  if (!match) return null;
  return {
    payload: match[1] as string,
    exchange: "",
    routingKey: JSON.parse(match[2] as string),
    priority: 0,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
