/**
 * The bytes and keys the broker leaves in Redis (DB 2) are kombu's: Python Celery reads what tq
 * writes and the other way round. Checked with a raw client, not through the broker.
 */
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { KeyLayout, SEP } from "../src/keys.js";
import {
  BrokerPool,
  collector,
  idOf,
  pythonEnvelope,
  taskMessage,
  until,
} from "./support/broker-fixtures.js";
import { brokerTestUrl, RawRedis, uniqueName } from "./support/broker-probe.js";

const url = brokerTestUrl(2);
const raw = new RawRedis(url);
const pool = new BrokerPool({ url });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

beforeAll(() => raw.client.flushdb());
afterEach(() => pool.closeAll());
afterAll(async () => {
  await raw.client.flushdb();
  await raw.close();
});

describe("key layout", () => {
  it("uses kombu's names standalone and one hash tag per queue on a cluster", () => {
    const steps = [0, 3, 6, 9];
    const plain = new KeyLayout({ prefix: "", cluster: false, db: 2, prioritySteps: steps });
    expect(plain.buckets("q")).toEqual(["q", `q${SEP}3`, `q${SEP}6`, `q${SEP}9`]);
    expect([plain.unacked("q"), plain.unackedIndex("q"), plain.unackedMutex("q")]).toEqual([
      "unacked",
      "unacked_index",
      "unacked_mutex",
    ]);
    expect(plain.binding("ex")).toBe("_kombu.binding.ex");
    expect(plain.fanoutChannel("ex", "worker.heartbeat")).toBe("/2.ex/worker.heartbeat");
    const cluster = new KeyLayout({ prefix: "app:", cluster: true, db: 0, prioritySteps: steps });
    expect(cluster.buckets("q")).toEqual(["app:{q}", `app:{q}${SEP}3`, `app:{q}${SEP}6`, `app:{q}${SEP}9`]);
    expect(cluster.unacked("q")).toBe("app:{q}.unacked");
    expect(cluster.unackedIndex("q")).toBe("app:{q}.unacked_index");
    expect(cluster.unackedMutex("q")).toBe("app:{q}.unacked_mutex");
    expect([0, 2, 3, 5, 6, 9, 12, -1, "7", undefined].map((p) => plain.stepFor(p))).toEqual([
      0, 0, 3, 3, 6, 9, 9, 0, 6, 0,
    ]);
  });
});

describe("stored bytes", () => {
  it("LPUSHes kombu's envelope: base64 body, delivery_info, a fresh uuid delivery_tag", async () => {
    const queue = uniqueName("env");
    const broker = await pool.make();
    const sent = taskMessage("env-1", { priority: 0 });
    await broker.publish(sent, { exchange: "", routingKey: queue });
    await broker.publish(taskMessage("env-2"), { exchange: "", routingKey: queue });
    const stored = await raw.client.lrange(queue, 0, -1);
    expect(stored).toHaveLength(2);
    // LPUSH: the newest is at the left, consumers pop from the right.
    const envelope = JSON.parse(stored[1]!);
    expect(Object.keys(envelope)).toEqual([
      "body",
      "content-encoding",
      "content-type",
      "headers",
      "properties",
    ]);
    expect(Buffer.from(envelope.body, "base64")).toEqual(Buffer.from(sent.body));
    expect(envelope.headers).toEqual(sent.headers);
    expect(envelope["content-type"]).toBe("application/json");
    expect(envelope.properties).toMatchObject({
      correlation_id: "env-1",
      delivery_info: { exchange: "", routing_key: queue },
      body_encoding: "base64",
    });
    expect(envelope.properties.delivery_tag).toMatch(UUID);
    expect(JSON.parse(stored[0]!).properties.delivery_tag).not.toBe(envelope.properties.delivery_tag);
  });

  it("sends priority p to the bucket of the largest step ≤ p and serves lower numbers first", async () => {
    const queue = uniqueName("prio");
    const broker = await pool.make();
    for (const [id, priority] of [
      ["p9", 9],
      ["p5", 5],
      ["p0", 0],
      ["p7", 7],
      ["none", undefined],
    ] as const) {
      const properties = priority === undefined ? {} : { priority };
      await broker.publish(taskMessage(id, properties), { exchange: "", routingKey: queue });
    }
    const ids = async (key: string) =>
      (await raw.client.lrange(key, 0, -1)).map((text) => JSON.parse(text).headers.id);
    expect(await ids(queue)).toEqual(["none", "p0"]);
    expect(await ids(`${queue}${SEP}3`)).toEqual(["p5"]);
    expect(await ids(`${queue}${SEP}6`)).toEqual(["p7"]);
    expect(await ids(`${queue}${SEP}9`)).toEqual(["p9"]);
    const seen = collector((delivery) => delivery.ack());
    await broker.consume([queue], seen.handler, { prefetch: 1 });
    await until(() => seen.deliveries.length === 5, "five deliveries");
    expect(seen.deliveries.map(idOf)).toEqual(["p0", "none", "p5", "p7", "p9"]);
  });

  it("records a held message in unacked and unacked_index exactly as kombu, and removes it on ack", async () => {
    const queue = uniqueName("held");
    const broker = await pool.make();
    await broker.publish(taskMessage("held-1"), { exchange: "", routingKey: queue });
    const [payload] = await raw.client.lrange(queue, 0, -1);
    const tag = JSON.parse(payload!).properties.delivery_tag;
    const seen = collector();
    const before = Date.now() / 1000;
    await broker.consume([queue], seen.handler, { prefetch: 1 });
    await until(() => seen.deliveries.length === 1, "the delivery");
    expect(await raw.client.llen(queue)).toBe(0);
    expect(await raw.client.hget("unacked", tag)).toBe(`[${payload}, "", "${queue}"]`);
    const score = Number(await raw.client.zscore("unacked_index", tag));
    expect(score).toBeGreaterThanOrEqual(before - 1);
    expect(score).toBeLessThanOrEqual(Date.now() / 1000 + 1);
    await seen.deliveries[0]!.ack();
    expect(await raw.client.hexists("unacked", tag)).toBe(0);
    expect(await raw.client.zscore("unacked_index", tag)).toBeNull();
  });

  it("consumes a message written by Python's kombu, keeping its bytes in unacked", async () => {
    const queue = uniqueName("py");
    const tag = randomUUID();
    const payload = pythonEnvelope({ queue, id: "py-1", tag, priority: 5 });
    await raw.client.lpush(`${queue}${SEP}3`, payload);
    const broker = await pool.make();
    const seen = collector();
    await broker.consume([queue], seen.handler, { prefetch: 1 });
    await until(() => seen.deliveries.length === 1, "the Python message");
    const [delivery] = seen.deliveries;
    expect(delivery!.message.headers).toMatchObject({
      task: "probe.add",
      id: "py-1",
      x_empty: [],
      x_text: "café",
    });
    expect(new TextDecoder().decode(delivery!.message.body)).toBe(
      '[[7, 7], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]',
    );
    expect(delivery!.redelivered).toBe(false);
    // Concatenated around the raw envelope: the empty list and the \u escape survive untouched.
    expect(await raw.client.hget("unacked", tag)).toBe(`[${payload}, "", "${queue}"]`);
    await delivery!.reject();
    expect(await raw.client.hlen("unacked")).toBe(0);
  });

  it("records a payload that is not an envelope under a generated tag and delivers its raw text", async () => {
    const queue = uniqueName("junk");
    await raw.client.lpush(queue, "not json at all");
    const broker = await pool.make();
    const seen = collector();
    await broker.consume([queue], seen.handler, { prefetch: 1 });
    await until(() => seen.deliveries.length === 1, "the junk message");
    const [delivery] = seen.deliveries;
    expect(delivery!.message.headers).toEqual({});
    expect(new TextDecoder().decode(delivery!.message.body)).toBe("not json at all");
    const entries = await raw.client.hgetall("unacked");
    const [tag, value] = Object.entries(entries)[0]!;
    expect(tag).toMatch(/^tq-/);
    expect(value).toBe(`[not json at all, "", "${queue}"]`);
    await delivery!.reject();
    expect(await raw.client.hlen("unacked")).toBe(0);
  });

  it("gives a second message with an already held delivery_tag its own tag instead of overwriting", async () => {
    const queue = uniqueName("dup");
    const tag = randomUUID();
    const payload = pythonEnvelope({ queue, id: "dup", tag });
    await raw.client.lpush(queue, payload, payload);
    const broker = await pool.make();
    const seen = collector();
    await broker.consume([queue], seen.handler, { prefetch: 2 });
    await until(() => seen.deliveries.length === 2, "both copies");
    const tags = Object.keys(await raw.client.hgetall("unacked")).sort();
    expect(tags).toHaveLength(2);
    expect(tags).toContain(tag);
    for (const delivery of seen.deliveries) await delivery.ack();
    expect(await raw.client.hlen("unacked")).toBe(0);
    expect(await raw.client.zcard("unacked_index")).toBe(0);
  });

  it("requeues into the message's own bucket, at the back, marked redelivered", async () => {
    const queue = uniqueName("requeue");
    const broker = await pool.make();
    await broker.publish(taskMessage("first", { priority: 9 }), { exchange: "", routingKey: queue });
    const seen = collector();
    const consumer = await broker.consume([queue], seen.handler, { prefetch: 1 });
    await until(() => seen.deliveries.length === 1, "the delivery");
    await consumer.cancel();
    await broker.publish(taskMessage("second", { priority: 9 }), { exchange: "", routingKey: queue });
    await seen.deliveries[0]!.requeue();
    const bucket = await raw.client.lrange(`${queue}${SEP}9`, 0, -1);
    expect(bucket.map((text) => JSON.parse(text).headers.id)).toEqual(["first", "second"]);
    const requeued = JSON.parse(bucket[0]!);
    expect(requeued.headers.redelivered).toBe(true);
    expect(requeued.properties.delivery_info.redelivered).toBe(true);
    expect(await raw.client.hlen("unacked")).toBe(0);
  });

  it("restores a stale priority-9 message to the front of its own bucket, marked redelivered", async () => {
    const queue = uniqueName("stale");
    const tag = randomUUID();
    const payload = pythonEnvelope({ queue, id: "stale-1", tag, priority: 9 });
    // What a kombu worker that died while holding the message leaves behind.
    await raw.client.hset("unacked", tag, `[${payload}, "", "${queue}"]`);
    await raw.client.zadd("unacked_index", Date.now() / 1000 - 60, tag);
    await raw.client.lpush(
      `${queue}${SEP}9`,
      pythonEnvelope({ queue, id: "waiting", tag: randomUUID(), priority: 9 }),
    );
    const restorer = await pool.make({ visibilityTimeoutMs: 30_000 });
    await restorer.consume([uniqueName("elsewhere")], () => {}, { prefetch: 1 });
    await until(async () => (await raw.client.hlen("unacked")) === 0, "the restore");
    const bucket = await raw.client.lrange(`${queue}${SEP}9`, 0, -1);
    expect(bucket).toHaveLength(2);
    const restored = JSON.parse(bucket[1]!);
    expect(restored.headers.id).toBe("stale-1");
    expect(restored.headers.redelivered).toBe(true);
    expect(restored.properties.delivery_info.redelivered).toBe(true);
    expect(restored.properties.delivery_tag).toBe(tag);
    expect(restored.headers.x_empty).toEqual([]);
    expect(await raw.client.zcard("unacked_index")).toBe(0);
    const seen = collector((delivery) => delivery.ack());
    await (await pool.make()).consume([queue], seen.handler, { prefetch: 1 });
    await until(() => seen.deliveries.length === 2, "both messages");
    expect(seen.deliveries.map(idOf)).toEqual(["stale-1", "waiting"]);
    expect(seen.deliveries[0]!.redelivered).toBe(true);
  });

  it("leaves no window: every message is at every moment in a list or in unacked", async () => {
    const queue = uniqueName("window");
    const total = 200;
    const publisher = await pool.make();
    for (let i = 0; i < total; i++) {
      await publisher.publish(taskMessage(`w-${i}`, { priority: (i % 4) * 3 }), {
        exchange: "",
        routingKey: queue,
      });
    }
    // Consumers hand every message straight back: messages keep moving list → unacked → list.
    let moves = 0;
    for (let i = 0; i < 3; i++) {
      const broker = await pool.make();
      await broker.consume(
        [queue],
        (delivery) => {
          moves++;
          return delivery.requeue();
        },
        { prefetch: 7 },
      );
    }
    // Counted, not timed: a loaded machine takes longer to make the same number of snapshots and moves.
    let snapshots = 0;
    const deadline = Date.now() + 30_000;
    while ((snapshots < 100 || moves <= total) && Date.now() < deadline) {
      const transaction = raw.client.multi();
      for (const key of raw.keys.buckets(queue)) transaction.llen(key);
      transaction.hlen("unacked");
      const counts = (await transaction.exec())!.map(([, count]) => Number(count));
      expect(counts.reduce((sum, count) => sum + count, 0)).toBe(total);
      snapshots++;
    }
    expect(snapshots).toBeGreaterThanOrEqual(100);
    expect(moves).toBeGreaterThan(total);
    await pool.closeAll();
    expect(await raw.readyCount(queue)).toBe(total);
    expect(await raw.client.hlen("unacked")).toBe(0);
  }, 45_000);
});
