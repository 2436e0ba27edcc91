import type { Delivery, TaskMeta, TransportMessage } from "@tq/core";
import { type BrokerProbe, runBackendConformance, runBrokerConformance } from "@tq/transport-tests";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisBackend } from "../src/backend.js";
import { RedisBroker } from "../src/broker.js";
import { RawRedis } from "./support/broker-probe.js";
import { command, type RedisSentinelHandle, startRedisSentinel } from "./support/redis-servers.js";

// A master, its replica and a Sentinel of our own on free loopback ports (no DB on 6379). The
// failover tests start their own, since a failover changes which server is the master.
let sentinel: RedisSentinelHandle;
let rawMaster: RawRedis;
const run = `tqs-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

beforeAll(async () => {
  sentinel = await startRedisSentinel();
  rawMaster = new RawRedis(`redis://127.0.0.1:${sentinel.master.port}/0`);
});
afterAll(async () => {
  await rawMaster?.close();
  await sentinel?.stop();
});

/** A plain ioredis client in sentinel mode; disconnected by the caller. */
function sentinelClient(handle: RedisSentinelHandle): Redis {
  const client = new Redis({ sentinels: handle.sentinels, name: handle.masterName, lazyConnect: true });
  // A crashed master makes it drop its connection; it reconnects through the Sentinel.
  client.on("error", () => {});
  return client;
}

describe("the sentinel harness", () => {
  it("serves the master through a plain ioredis client in sentinel mode, replicated to the replica", async () => {
    const client = sentinelClient(sentinel);
    const key = `${run}:harness`;
    try {
      await client.connect();
      await client.set(key, "1");
      expect(await command(sentinel.master.port, "GET", key)).toBe("1");
      await sentinel.replicated();
      expect(await command(sentinel.replica.port, "GET", key)).toBe("1");
      const [role, , masterPort] = (await command(sentinel.replica.port, "ROLE")) as unknown[];
      expect([role, masterPort]).toEqual(["slave", sentinel.master.port]);
      await client.del(key);
    } finally {
      client.disconnect();
    }
  });

  it("lets a client carry on on the replica after the master crashes", async () => {
    const handle = await startRedisSentinel();
    const client = sentinelClient(handle);
    try {
      await client.connect();
      await client.set("before", "1");
      await handle.replicated();
      expect(await handle.crashMaster()).toEqual(handle.replica);
      // The command waits through the reconnect (ioredis retries it up to 20 times).
      await client.set("after", "2");
      expect(await command(handle.replica.port, "MGET", "before", "after")).toEqual(["1", "2"]);
    } finally {
      client.disconnect();
      await handle.stop();
    }
  });
});

/** Reads the master the shared Sentinel started with (no failover happens there). */
const probe: BrokerProbe = {
  readyCount: (queue) => rawMaster.readyCount(queue),
  inFlightCount: (queue) => rawMaster.inFlightCount(queue),
};

runBrokerConformance({
  name: "redis sentinel",
  createBroker: () => new RedisBroker({ url: sentinel.url }),
  probe,
  queuePrefix: `${run}-conf`,
  priorityOrder: "lower-first",
});

runBackendConformance({
  name: "redis sentinel",
  createBackend: () => new RedisBackend({ url: sentinel.url }),
  idPrefix: `${run}-backend`,
  expiryMs: 1_000,
  expiryGraceMs: 2_000,
});

function message(label: string): TransportMessage {
  return {
    headers: { id: label, task: "sentinel.test" },
    properties: {},
    contentType: "application/json",
    contentEncoding: "utf-8",
    body: new TextEncoder().encode(JSON.stringify(label)),
  };
}

function success(taskId: string, result: unknown): TaskMeta {
  return {
    task_id: taskId,
    status: "SUCCESS",
    result,
    traceback: null,
    children: [],
    date_done: new Date().toISOString(),
  };
}

/**
 * A producer, a worker (consumes, stores the result, acks) and a client waiting for results, all on
 * one Sentinel URL: runs `batch` through them, checks each result, and the queue's state on `master`.
 */
async function workload(handle: RedisSentinelHandle) {
  const queue = `${run}-failover-${Math.random().toString(36).slice(2, 6)}`;
  const producer = new RedisBroker({ url: handle.url });
  const worker = new RedisBroker({ url: handle.url });
  const workerBackend = new RedisBackend({ url: handle.url });
  const client = new RedisBackend({ url: handle.url });
  await Promise.all([producer.connect(), worker.connect(), workerBackend.connect(), client.connect()]);
  const handled: string[] = [];
  const consumer = await worker.consume(
    [queue],
    async (delivery: Delivery) => {
      const label = JSON.parse(new TextDecoder().decode(delivery.message.body)) as string;
      await workerBackend.store(success(label, `done ${label}`));
      await delivery.ack();
      handled.push(label);
    },
    { prefetch: 2 },
  );
  return {
    async batch(labels: string[]): Promise<void> {
      const ids = labels.map((label) => `${queue}-${label}`);
      const results = ids.map((id) => client.waitFor(id, { timeoutMs: 20_000 }));
      await Promise.all(ids.map((id) => producer.publish(message(id), { exchange: "", routingKey: queue })));
      expect((await Promise.all(results)).map((meta) => meta.result)).toEqual(ids.map((id) => `done ${id}`));
    },
    /** Checks on the server now serving as master that nothing is left in the queue or held. */
    async checkEmptyOn(port: number): Promise<void> {
      const raw = new RawRedis(`redis://127.0.0.1:${port}/0`);
      try {
        expect(await raw.readyCount(queue)).toBe(0);
        expect(await raw.inFlightCount(queue)).toBe(0);
      } finally {
        await raw.close();
      }
    },
    handled,
    async close(): Promise<void> {
      await consumer.cancel();
      await Promise.all([producer.close(), worker.close(), workerBackend.close(), client.close()]);
    },
  };
}

describe("the broker and the backend through a failover", () => {
  it("keep publishing, consuming and storing after SENTINEL FAILOVER", async () => {
    const handle = await startRedisSentinel();
    const work = await workload(handle);
    try {
      await work.batch(["a1", "a2", "a3"]);
      await handle.replicated();
      // Until Sentinel demotes the old master, writes still land there and are lost when it resyncs
      // (Redis' own behaviour); failover() waits for the demotion.
      const promoted = await handle.failover();
      expect(promoted).toEqual(handle.replica);
      await work.batch(["b1", "b2", "b3"]);
      await work.checkEmptyOn(promoted.port);
      expect(work.handled).toHaveLength(6);
    } finally {
      await work.close();
      await handle.stop();
    }
  }, 45_000);

  it("keep publishing, consuming and storing after the master crashes", async () => {
    const handle = await startRedisSentinel();
    const work = await workload(handle);
    try {
      await work.batch(["a1", "a2", "a3"]);
      await handle.replicated();
      const promoted = await handle.crashMaster();
      await work.batch(["b1", "b2", "b3"]);
      await work.checkEmptyOn(promoted.port);
      expect(work.handled).toHaveLength(6);
    } finally {
      await work.close();
      await handle.stop();
    }
  }, 30_000);
});
