/**
 * Reads the broker's state straight from Redis with a raw ioredis client, bypassing the broker:
 * list lengths over the priority buckets, the `unacked` entries of a queue, and connection killing.
 */
import type { BrokerProbe } from "@tq/transport-tests";
import { Redis } from "ioredis";
import { KeyLayout } from "../../src/keys.js";

/** `redis://…/<db>` on the test Redis (`TQ_TEST_REDIS_URL`, default 127.0.0.1:6379). */
export function brokerTestUrl(db: number): string {
  const url = new URL(process.env.TQ_TEST_REDIS_URL ?? "redis://127.0.0.1:6379");
  url.pathname = `/${db}`;
  return url.toString();
}

/** A name unique to this run, for queues, prefixes and connection names. */
export function uniqueName(label: string): string {
  return `${label}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;
}

/** One `unacked` entry as kombu stores it. */
export interface UnackedEntry {
  tag: string;
  raw: string;
  envelope: Record<string, unknown>;
  exchange: string;
  routingKey: string;
  score: number | null;
}

/** A raw view of one test database. */
export class RawRedis implements BrokerProbe {
  readonly client: Redis;
  readonly keys: KeyLayout;

  constructor(url: string, options: { prefix?: string; db?: number } = {}) {
    this.client = new Redis(url, { maxRetriesPerRequest: 1 });
    const db = options.db ?? Number(new URL(url).pathname.slice(1) || 0);
    this.keys = new KeyLayout({
      prefix: options.prefix ?? "",
      cluster: false,
      db,
      prioritySteps: [0, 3, 6, 9],
    });
  }

  /** Messages waiting in every priority bucket of a queue. */
  async readyCount(queue: string): Promise<number> {
    const lengths = await Promise.all(this.keys.buckets(queue).map((key) => this.client.llen(key)));
    return lengths.reduce((sum, length) => sum + length, 0);
  }

  /** Entries of `unacked` whose routing key is this queue. */
  async inFlightCount(queue: string): Promise<number> {
    return (await this.unacked(queue)).length;
  }

  /** The `unacked` entries (of one queue, or all), with their `unacked_index` scores. */
  async unacked(queue?: string): Promise<UnackedEntry[]> {
    const hash = await this.client.hgetall(this.keys.unacked(queue ?? ""));
    const entries: UnackedEntry[] = [];
    for (const [tag, raw] of Object.entries(hash)) {
      const [envelope, exchange, routingKey] = JSON.parse(raw) as [Record<string, unknown>, string, string];
      if (queue !== undefined && routingKey !== queue) continue;
      const score = await this.client.zscore(this.keys.unackedIndex(queue ?? ""), tag);
      entries.push({
        tag,
        raw,
        envelope,
        exchange,
        routingKey,
        score: score === null ? null : Number(score),
      });
    }
    return entries;
  }

  /** How many client connections are named `name`. */
  async connectionsNamed(name: string): Promise<number> {
    const list = String(await this.client.client("LIST"));
    return list.split("\n").filter((line) => line.includes(` name=${name} `)).length;
  }

  /** Kills every client connection whose name is `name`; resolves to how many. */
  async killConnectionsNamed(name: string): Promise<number> {
    const list = await this.client.client("LIST");
    let killed = 0;
    for (const line of String(list).split("\n")) {
      const id = /(?:^| )id=(\d+)/.exec(line)?.[1];
      if (id && line.includes(` name=${name} `)) {
        await this.client.client("KILL", "ID", id);
        killed++;
      }
    }
    return killed;
  }

  /** Deletes the keys starting with `prefix` (for tests sharing a database by prefix). */
  async deletePrefixed(prefix: string): Promise<void> {
    let cursor = "0";
    do {
      const [next, keys] = await this.client.scan(
        cursor,
        "MATCH",
        `${prefix.replace(/[*?[\]\\]/g, "\\$&")}*`,
        "COUNT",
        500,
      );
      cursor = next;
      if (keys.length > 0) await this.client.del(...keys);
    } while (cursor !== "0");
  }

  async close(): Promise<void> {
    await this.client.quit();
  }
}
