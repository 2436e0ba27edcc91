/**
 * Reads the state the interop tests assert on straight from Redis: journals written by the tasks, and
 * kombu's ack-emulation bookkeeping (`unacked` hash, `unacked_index` sorted set) that tq and Python
 * workers share.
 */
import { Redis } from "ioredis";
import { waitUntil } from "./interop-processes.js";

/** One held message in kombu's `unacked` hash. */
export interface UnackedEntry {
  /** The delivery tag: the hash field and the `unacked_index` member. */
  tag: string;
  /** When it was taken or last extended (`unacked_index` score), in ms since the epoch. */
  heldSinceMs: number;
  /** Routing key stored with it, where a restore puts it back. */
  routingKey: string;
}

/** A connection to one test DB for the assertions; `close()` it in a `finally`. */
export class RedisProbe {
  readonly client: Redis;

  constructor(url: string) {
    this.client = new Redis(url, { maxRetriesPerRequest: 1 });
  }

  /** The entries of the list `key` (a task journal). */
  journal(key: string): Promise<string[]> {
    return this.client.lrange(key, 0, -1);
  }

  /** Resolves once the journal `key` holds `entry`. */
  async waitForJournal(key: string, entry: string, timeoutMs: number): Promise<void> {
    await waitUntil(
      `${key} holds ${entry}`,
      async () => ((await this.journal(key)).includes(entry) ? true : undefined),
      timeoutMs,
    );
  }

  /** The `unacked` entry holding the message of task `taskId`, or undefined. */
  async unacked(taskId: string): Promise<UnackedEntry | undefined> {
    const entries = await this.client.hgetall("unacked");
    for (const [tag, raw] of Object.entries(entries)) {
      const [envelope, , routingKey] = JSON.parse(raw) as [{ headers?: { id?: unknown } }, string, string];
      if (envelope.headers?.id !== taskId) continue;
      const score = await this.client.zscore("unacked_index", tag);
      return { tag, heldSinceMs: Number(score) * 1000, routingKey };
    }
    return undefined;
  }

  /** Resolves once the task's message left the `unacked` hash (its consumer acked it). */
  async waitUntilAcked(taskId: string, timeoutMs: number): Promise<void> {
    await waitUntil(
      `the message of ${taskId} is acked`,
      async () => ((await this.unacked(taskId)) === undefined ? true : undefined),
      timeoutMs,
    );
  }

  /**
   * Resolves with the task's `unacked` entry once nobody extended it for `staleMs`: its consumer is
   * gone, and a restorer with a visibility timeout below `staleMs` will put it back.
   */
  waitUntilStale(taskId: string, staleMs: number, timeoutMs: number): Promise<UnackedEntry> {
    return waitUntil(
      `the unacked entry of ${taskId} is ${staleMs} ms old`,
      async () => {
        const entry = await this.unacked(taskId);
        if (!entry) throw new Error(`task ${taskId} has no entry in the unacked hash`);
        return Date.now() - entry.heldSinceMs >= staleMs ? entry : undefined;
      },
      timeoutMs,
    );
  }

  /** Closes the connection. */
  close(): void {
    this.client.disconnect();
  }
}
