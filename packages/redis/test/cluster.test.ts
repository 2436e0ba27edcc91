import type { Delivery, TransportMessage } from "@tq/core";
import { type BrokerProbe, runBrokerConformance } from "@tq/transport-tests";
import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisBroker } from "../src/broker.js";
import { closeClient, createRedisClient, ensureConnected, isCluster } from "../src/connection.js";
import { KeyLayout } from "../src/keys.js";
import { parseRedisUrl } from "../src/url.js";
import { command, type RedisClusterHandle, startRedisCluster, waitFor } from "./support/redis-servers.js";

// A cluster of our own on free loopback ports (no DB on 6379). The result backend's suite runs on
// a cluster in backend-cluster.test.ts.
let cluster: RedisClusterHandle;
let raw: Cluster;
const run = `tqc-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const layout = new KeyLayout({ prefix: "", cluster: true, db: 0, prioritySteps: [0, 3, 6, 9] });

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3 });
  raw = new Cluster(cluster.nodes, { lazyConnect: true });
  await raw.connect();
});
afterAll(async () => {
  raw?.disconnect();
  await cluster?.stop();
});

describe("the cluster harness", () => {
  it("starts three masters that share the 16384 slots", async () => {
    expect(cluster.nodes).toHaveLength(3);
    expect(cluster.url).toBe(`redis+cluster://${cluster.nodes.map((n) => `127.0.0.1:${n.port}`).join(",")}`);
    const slots = (await command(cluster.nodes[0]!.port, "CLUSTER", "SLOTS")) as [
      number,
      number,
      unknown[],
    ][];
    const owners = new Set(slots.map((range) => (range[2] as [string, number])[1]));
    expect(owners).toEqual(new Set(cluster.nodes.map((n) => n.port)));
    expect(slots.reduce((sum, [from, to]) => sum + to - from + 1, 0)).toBe(16_384);
  });

  it("serves keys on every node through a plain ioredis Cluster", async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `${run}:harness:${i}`);
    for (const key of keys) await raw.set(key, key);
    for (const key of keys) expect(await raw.get(key)).toBe(key);
    const perNode = await Promise.all(cluster.nodes.map((n) => command(n.port, "DBSIZE")));
    expect(perNode.every((size) => Number(size) > 0)).toBe(true);
    await Promise.all(keys.map((key) => raw.del(key)));
  });

  it("fails with a clear error when redis-server is not installed", async () => {
    const path = process.env.PATH;
    process.env.PATH = "/nonexistent";
    try {
      await expect(startRedisCluster()).rejects.toThrow(/redis-server is not on PATH: install it/);
    } finally {
      process.env.PATH = path;
    }
  });

  it("is reached by tq's own client from the harness URL, which opens again after a close", async () => {
    const client = createRedisClient(parseRedisUrl(cluster.url));
    expect(isCluster(client)).toBe(true);
    expect(client.status).toBe("wait");
    const key = `${run}:tq-client`;
    try {
      await ensureConnected(client, "redis");
      expect(client.status).toBe("ready");
      await client.set(key, "1");
      await closeClient(client);
      expect(client.status).toBe("end");
      await ensureConnected(client, "redis");
      expect(await client.get(key)).toBe("1");
      await client.del(key);
    } finally {
      await closeClient(client);
    }
    expect(client.status).toBe("end");
  });
});

/** Reads a queue's lists and its own `{queue}.unacked` hash on the cluster, bypassing the broker. */
const probe: BrokerProbe = {
  async readyCount(queue) {
    const lengths = await Promise.all(layout.buckets(queue).map((key) => raw.llen(key)));
    return lengths.reduce((sum, length) => sum + length, 0);
  },
  async inFlightCount(queue) {
    const entries = await raw.hvals(layout.unacked(queue));
    return entries.filter((entry) => (JSON.parse(entry) as unknown[])[2] === queue).length;
  },
};

runBrokerConformance({
  name: "redis cluster",
  createBroker: () => new RedisBroker({ url: cluster.url }),
  probe,
  queuePrefix: `${run}-conf`,
  priorityOrder: "lower-first",
});

/** A message whose body names it. */
function message(label: string, priority?: number): TransportMessage {
  return {
    headers: { id: label, task: "cluster.test" },
    properties: priority === undefined ? {} : { priority },
    contentType: "application/json",
    contentEncoding: "utf-8",
    body: new TextEncoder().encode(JSON.stringify(label)),
  };
}

/** The master serving a key's slot. */
async function ownerOf(key: string): Promise<number> {
  const slot = Number(await raw.cluster("KEYSLOT", key));
  const ranges = await raw.cluster("SLOTS");
  const owner = ranges.find(([from, to]) => slot >= from && slot <= to)?.[2];
  if (!owner) throw new Error(`no node serves slot ${slot}`);
  return owner[1];
}

describe("the broker on a cluster", () => {
  it("keeps all of a queue's keys (lists, priority buckets, unacked bookkeeping) in one slot", async () => {
    const queue = `${run}-slot`;
    const broker = new RedisBroker({ url: cluster.url });
    try {
      await broker.connect();
      for (const priority of [0, 3, 6, 9])
        await broker.publish(message(`p${priority}`, priority), { exchange: "", routingKey: queue });
      const held: Delivery[] = [];
      const consumer = await broker.consume([queue], async (delivery) => void held.push(delivery), {
        prefetch: 2,
      });
      await waitFor("two deliveries", async () => held.length === 2, 5_000);
      await consumer.cancel();
      // Read back from every master what the broker wrote for this queue.
      const found = new Set<string>();
      for (const node of cluster.nodes) {
        const keys = (await command(node.port, "KEYS", `*${queue}*`)) as string[];
        for (const key of keys) found.add(key);
      }
      const expected = [
        layout.bucket(queue, 6),
        layout.bucket(queue, 9),
        layout.unacked(queue),
        layout.unackedIndex(queue),
      ];
      expect([...found]).toEqual(expect.arrayContaining(expected));
      const slots = new Set(
        await Promise.all([...found, ...layout.buckets(queue)].map((key) => raw.cluster("KEYSLOT", key))),
      );
      expect(slots.size).toBe(1);
      expect(await raw.hlen(layout.unacked(queue))).toBe(2);
      await Promise.all(held.map((delivery) => delivery.ack()));
      expect(await raw.hlen(layout.unacked(queue))).toBe(0);
    } finally {
      await broker.close();
    }
  });

  it("consumes every message of queues living on different nodes with one consumer", async () => {
    // Pick queue names until every master owns at least one of them.
    const queues: string[] = [];
    const owners = new Set<number>();
    for (let i = 0; owners.size < cluster.nodes.length || queues.length < 6; i++) {
      const queue = `${run}-spread-${i}`;
      const owner = await ownerOf(layout.bucket(queue, 0));
      if (owners.has(owner) && queues.length >= 6) continue;
      owners.add(owner);
      queues.push(queue);
    }
    const producer = new RedisBroker({ url: cluster.url });
    const worker = new RedisBroker({ url: cluster.url });
    try {
      await Promise.all([producer.connect(), worker.connect()]);
      const received: string[] = [];
      const consumer = await worker.consume(
        queues,
        async (delivery) => {
          received.push(`${delivery.queue}/${JSON.parse(new TextDecoder().decode(delivery.message.body))}`);
          await delivery.ack();
        },
        { prefetch: 4 },
      );
      const sent: string[] = [];
      await Promise.all(
        queues.flatMap((queue) =>
          [0, 1, 2, 5, 9].map((n) => {
            sent.push(`${queue}/m${n}`);
            return producer.publish(message(`m${n}`, n), { exchange: "", routingKey: queue });
          }),
        ),
      );
      await waitFor(`${sent.length} deliveries`, async () => received.length >= sent.length, 10_000);
      await consumer.cancel();
      expect(received.sort()).toEqual(sent.sort());
      for (const queue of queues) {
        expect(await producer.queueLength(queue)).toBe(0);
        expect(await raw.hlen(layout.unacked(queue))).toBe(0);
      }
    } finally {
      await Promise.all([producer.close(), worker.close()]);
    }
  });
});
