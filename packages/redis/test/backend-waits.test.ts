import { type TaskMeta, TqError } from "@tq/core";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RedisBackend } from "../src/backend.js";
import type { RedisBackendOptions } from "../src/backend-options.js";
import {
  deleteKeys,
  monitorKey,
  rawClient,
  redisUrl,
  runPrefix,
  sleep,
  track,
} from "./support/backend-redis.js";

// DB 7 belongs to this file; the cross-database test also writes run-unique keys to DB 5 (ours too).
const DB = 7;
const OTHER_DB = 5;
const run = runPrefix("waits");
let seq = 0;
const id = (label: string) => `${run}-${label}-${++seq}`;
const key = (taskId: string) => `celery-task-meta-${taskId}`;
const codeOf = (error: unknown) => (TqError.is(error) ? error.code : error);

let raw: Redis;
let backends: RedisBackend[] = [];
function backend(options: RedisBackendOptions = {}): RedisBackend {
  const created = new RedisBackend({ url: redisUrl(DB), ...options });
  backends.push(created);
  return created;
}

function meta(taskId: string, status: string, result: unknown = null): TaskMeta {
  return { task_id: taskId, status, result, traceback: null, children: [], date_done: null };
}

/** Connections named by the backend's subscriber on our DB (CLIENT LIST). */
async function subscriberClients(): Promise<{ id: string; sub: number }[]> {
  const list = (await raw.client("LIST")) as string;
  return list
    .split("\n")
    .filter((line) => line.includes("name=tq-backend-subscriber ") && line.includes(` db=${DB} `))
    .map((line) => ({
      id: /\bid=(\d+)/.exec(line)?.[1] as string,
      sub: Number(/\bsub=(\d+)/.exec(line)?.[1]),
    }));
}

async function numsub(channel: string): Promise<number> {
  const reply = (await raw.pubsub("NUMSUB", channel)) as [string, number];
  return Number(reply[1]);
}

beforeAll(async () => {
  raw = rawClient(DB);
  await raw.connect();
});

afterEach(async () => {
  await Promise.allSettled(backends.map((b) => b.close()));
  backends = [];
});

afterAll(async () => {
  await deleteKeys(raw, `*${run}*`);
  const other = rawClient(OTHER_DB);
  await deleteKeys(other, `*${run}*`);
  other.disconnect();
  raw.disconnect();
});

describe("waiting for results", () => {
  it("is notified, not polled: one GET while pending, none for non-ready states", async () => {
    const taskId = id("poll");
    const [client, worker] = [backend(), backend()];
    await Promise.all([client.connect(), worker.connect()]);
    const monitor = await monitorKey(DB, key(taskId));
    try {
      const waiting = track(client.waitFor(taskId, { timeoutMs: 10_000 }));
      await sleep(500);
      await worker.store(meta(taskId, "STARTED", { pid: 1, hostname: "h" }));
      for (let done = 1; done <= 5; done++) await worker.store(meta(taskId, "PROGRESS", { done }));
      await sleep(500);
      expect(waiting.state).toBe("pending");
      const readsWhilePending = monitor.commands.filter(
        (c) => c.args[0]?.toUpperCase() === "GET" && c.source !== "lua",
      );
      expect(readsWhilePending.length).toBeLessThanOrEqual(2);
      await worker.store(meta(taskId, "SUCCESS", 42));
      await expect.poll(() => waiting.state).toBe("resolved");
      expect(waiting.value?.result).toBe(42);
      await sleep(50);
      const reads = monitor.commands.filter((c) => c.args[0]?.toUpperCase() === "GET" && c.source !== "lua");
      // The read after subscribing, and the re-read of the ready document from our own DB.
      expect(reads.length).toBeLessThanOrEqual(2);
      const subscribes = monitor.commands.filter((c) => c.args[0]?.toUpperCase() === "SUBSCRIBE");
      expect(subscribes).toHaveLength(1);
    } finally {
      await monitor.stop();
    }
  });

  it("does not take another database's result for its own (same prefix, same task id)", async () => {
    const taskId = id("cross-db");
    const prefix = `${run}:`;
    const here = backend({ keyPrefix: prefix });
    const there = backend({ url: redisUrl(OTHER_DB), keyPrefix: prefix });
    const waitingHere = track(here.waitFor(taskId, { timeoutMs: 10_000 }));
    const waitingThere = track(there.waitFor(taskId, { timeoutMs: 10_000 }));
    await expect.poll(() => numsub(`${prefix}${key(taskId)}`)).toBe(2);
    await there.store(meta(taskId, "SUCCESS", "from-db-5"));
    await expect.poll(() => waitingThere.state).toBe("resolved");
    expect(waitingThere.value?.result).toBe("from-db-5");
    await sleep(200);
    expect(waitingHere.state).toBe("pending");
    await here.store(
      meta(taskId, "FAILURE", { exc_type: "ValueError", exc_message: ["db 7"], exc_module: "builtins" }),
    );
    await expect.poll(() => waitingHere.state).toBe("resolved");
    expect(waitingHere.value).toMatchObject({ status: "FAILURE", result: { exc_message: ["db 7"] } });
  });

  it("shares one SUBSCRIBE among the waiters of an id and unsubscribes when the last one goes", async () => {
    const taskId = id("shared");
    const [client, worker] = [backend(), backend()];
    const aborter = new AbortController();
    const aborted = client.waitFor(taskId, { signal: aborter.signal }).catch(codeOf);
    const first = track(client.waitFor(taskId, { timeoutMs: 10_000 }));
    const second = track(client.waitFor(taskId, { timeoutMs: 10_000 }));
    await expect.poll(() => numsub(key(taskId))).toBe(1);
    aborter.abort();
    expect(await aborted).toBe("TQ_ABORTED");
    await sleep(50);
    expect(await numsub(key(taskId))).toBe(1);
    await worker.store(meta(taskId, "SUCCESS", { shared: true }));
    await expect.poll(() => first.state === "resolved" && second.state === "resolved").toBe(true);
    // Each waiter has its own copy.
    expect(first.value).toEqual(second.value);
    expect(first.value).not.toBe(second.value);
    await expect.poll(() => numsub(key(taskId))).toBe(0);
    // A new wait on the same id subscribes again and resolves at once from the stored document.
    expect((await client.waitFor(taskId, { timeoutMs: 5_000 })).result).toEqual({ shared: true });
  });

  it("keeps the subscription of a wait that starts while the last one on its id is leaving", async () => {
    const [client, worker] = [backend(), backend()];
    for (let round = 0; round < 5; round++) {
      const taskId = id("rejoin");
      const aborter = new AbortController();
      const leaving = client.waitFor(taskId, { signal: aborter.signal }).catch(codeOf);
      aborter.abort(); // before its SUBSCRIBE is confirmed
      const staying = track(client.waitFor(taskId, { timeoutMs: 5_000 }));
      expect(await leaving).toBe("TQ_ABORTED");
      await sleep(50); // past the first read: only a notification can resolve it now
      // Polled, not read once: a loaded machine may confirm the SUBSCRIBE late. A dropped subscription
      // still fails below, where only a notification can resolve the wait.
      await expect.poll(() => numsub(key(taskId)), { timeout: 5_000 }).toBe(1);
      await worker.store(meta(taskId, "SUCCESS", round));
      await expect.poll(() => staying.state).toBe("resolved");
      expect(staying.value?.result).toBe(round);
    }
  });

  it("uses one subscriber connection for many waits and resolves them all", async () => {
    const [client, worker] = [backend(), backend()];
    const ids = Array.from({ length: 200 }, () => id("many"));
    const waits = ids.map((taskId) => client.waitFor(taskId, { timeoutMs: 10_000 }));
    await expect.poll(async () => (await subscriberClients())[0]?.sub).toBe(200);
    expect(await subscriberClients()).toHaveLength(1);
    await Promise.all(ids.map((taskId, i) => worker.store(meta(taskId, "SUCCESS", i))));
    expect((await Promise.all(waits)).map((m) => m.result)).toEqual(ids.map((_, i) => i));
    await expect.poll(async () => (await subscriberClients())[0]?.sub).toBe(0);
  });

  it("recovers a result published while the subscriber was reconnecting", async () => {
    const taskId = id("reconnect");
    const [client, worker] = [backend(), backend()];
    await worker.connect();
    const waiting = track(client.waitFor(taskId, { timeoutMs: 10_000 }));
    await expect.poll(() => numsub(key(taskId))).toBe(1);
    const [subscriber] = await subscriberClients();
    await raw.client("KILL", "ID", subscriber!.id);
    // Nobody is subscribed when the result is published: only the re-read after reconnecting finds it.
    expect(await numsub(key(taskId))).toBe(0);
    await worker.store(meta(taskId, "SUCCESS", "while away"));
    await expect.poll(() => waiting.state, { timeout: 5_000 }).toBe("resolved");
    expect(waiting.value?.result).toBe("while away");
  });

  it("close() rejects every wait in progress with TQ_CLOSED; later calls too", async () => {
    const client = backend();
    const waits = [id("close"), id("close"), id("close")].map((taskId) =>
      client.waitFor(taskId).catch(codeOf),
    );
    await expect.poll(async () => (await subscriberClients())[0]?.sub).toBe(3);
    await client.close();
    expect(await Promise.all(waits)).toEqual(["TQ_CLOSED", "TQ_CLOSED", "TQ_CLOSED"]);
    expect(await client.waitFor(id("closed")).catch(codeOf)).toBe("TQ_CLOSED");
    expect(await client.get(id("closed")).catch(codeOf)).toBe("TQ_CLOSED");
    await expect.poll(() => subscriberClients()).toEqual([]);
  });
});

describe("connections", () => {
  it("never closes a client passed in, and closes the subscriber it duplicated from it", async () => {
    const client = new Redis(redisUrl(DB), { lazyConnect: true });
    try {
      const b = new RedisBackend({ client });
      await b.connect();
      await b.connect();
      const taskId = id("own-client");
      const waiting = b.waitFor(taskId, { timeoutMs: 5_000 });
      await expect.poll(() => numsub(key(taskId))).toBe(1);
      await b.store(meta(taskId, "SUCCESS", "mine"));
      expect((await waiting).result).toBe("mine");
      await b.close();
      expect(client.status).toBe("ready");
      expect(await client.get(key(taskId))).toContain('"mine"');
      await expect.poll(() => subscriberClients()).toEqual([]);
    } finally {
      client.disconnect();
    }
  });

  it("does no I/O in the constructor; connect() reports an unreachable server; signals abort", async () => {
    const lazy = new Redis(redisUrl(DB), { lazyConnect: true });
    const idle = new RedisBackend({ client: lazy });
    await sleep(20);
    expect(lazy.status).toBe("wait");
    await idle.close();
    lazy.disconnect();
    const unreachable = new RedisBackend({ url: "redis://127.0.0.1:1/7" });
    try {
      expect(await unreachable.connect().catch(codeOf)).toBe("TQ_CONNECTION");
    } finally {
      await unreachable.close();
    }
    const b = backend();
    expect(await b.connect({ signal: AbortSignal.abort() }).catch(codeOf)).toBe("TQ_ABORTED");
    const configCode = expect.objectContaining({ code: "TQ_CONFIG" });
    expect(() => new RedisBackend({ resultExpiresMs: 0 })).toThrow(configCode);
    expect(() => new RedisBackend({ url: "http://x" })).toThrow(configCode);
    // ioredis would prefix keys but not SUBSCRIBE channels.
    const prefixed = new Redis({ lazyConnect: true, keyPrefix: "x:" });
    expect(() => new RedisBackend({ client: prefixed })).toThrow(configCode);
    prefixed.disconnect();
    expect(await b.store(meta(id("bad-ttl"), "SUCCESS"), { expiresMs: -1 }).catch(codeOf)).toBe("TQ_CONFIG");
    expect(await b.waitFor(id("bad-timeout"), { timeoutMs: -1 }).catch(codeOf)).toBe("TQ_CONFIG");
  });
});
