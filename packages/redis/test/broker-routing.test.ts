/**
 * Named exchanges through kombu's `_kombu.binding.*` sets, fanout over pub/sub on kombu's channels,
 * and `keyPrefix` (Celery's `global_keyprefix`) on every key and channel. DB 4, under a prefix of its
 * own (the database is shared with other test files).
 */
import { Redis } from "ioredis";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { SEP } from "../src/keys.js";
import { BrokerPool, collector, idOf, sleep, taskMessage, until } from "./support/broker-fixtures.js";
import { brokerTestUrl, RawRedis, uniqueName } from "./support/broker-probe.js";

const url = brokerTestUrl(4);
const prefix = `${uniqueName("routing")}:`;
const raw = new RawRedis(url, { prefix });
const pool = new BrokerPool({ url, keyPrefix: prefix });

afterEach(() => pool.closeAll());
afterAll(async () => {
  await raw.deletePrefixed(prefix);
  await raw.close();
});

const ids = async (queue: string) =>
  (await raw.client.lrange(prefix + queue, 0, -1)).map((text) => JSON.parse(text).headers.id).reverse();

describe("bindings", () => {
  it("writes kombu's binding members and routes direct, topic and fanout exchanges by them", async () => {
    const [a, b, c] = [uniqueName("a"), uniqueName("b"), uniqueName("c")];
    const [direct, topic, fanout] = [uniqueName("direct"), uniqueName("topic"), uniqueName("fanout")];
    const broker = await pool.make();
    await broker.declareQueues([
      { name: a },
      { name: b, exchange: direct, routingKey: "images" },
      { name: c, exchange: topic, exchangeType: "topic", routingKey: "task.#" },
      { name: a, exchange: topic, exchangeType: "topic", routingKey: "*.urgent" },
      { name: a, exchange: fanout, exchangeType: "fanout", routingKey: "" },
      { name: b, exchange: fanout, exchangeType: "fanout", routingKey: "" },
      { name: "no-binding", exchange: "" },
    ]);
    expect(await raw.client.smembers(`${prefix}_kombu.binding.${a}`)).toEqual([`${a}${SEP}${SEP}${a}`]);
    expect(await raw.client.smembers(`${prefix}_kombu.binding.${direct}`)).toEqual([
      `images${SEP}${SEP}${b}`,
    ]);
    expect((await raw.client.smembers(`${prefix}_kombu.binding.${topic}`)).sort()).toEqual(
      [`*.urgent${SEP}${SEP}${a}`, `task.#${SEP}${SEP}${c}`].sort(),
    );
    expect(await raw.client.keys(`${prefix}_kombu.binding.`)).toEqual([]);

    await broker.publish(taskMessage("by-queue-exchange"), { exchange: a, routingKey: a });
    await broker.publish(taskMessage("direct-hit"), { exchange: direct, routingKey: "images" });
    await broker.publish(taskMessage("direct-miss"), { exchange: direct, routingKey: "video" });
    await broker.publish(taskMessage("topic-deep"), { exchange: topic, routingKey: "task.a.b" });
    await broker.publish(taskMessage("topic-both"), { exchange: topic, routingKey: "task.urgent" });
    await broker.publish(taskMessage("topic-miss"), { exchange: topic, routingKey: "other.thing.urgent" });
    await broker.publish(taskMessage("fan"), { exchange: fanout, routingKey: "ignored" });
    expect(await ids(a)).toEqual(["by-queue-exchange", "topic-both", "fan"]);
    expect(await ids(b)).toEqual(["direct-hit", "fan"]);
    expect(await ids(c)).toEqual(["topic-deep", "topic-both"]);
  });

  it("routes by bindings another process declared, matching topic patterns", async () => {
    const [queue, exchange] = [uniqueName("q"), uniqueName("ex")];
    await raw.client.sadd(`${prefix}_kombu.binding.${exchange}`, `worker.#${SEP}${SEP}${queue}`);
    const broker = await pool.make();
    await broker.publish(taskMessage("match"), { exchange, routingKey: "worker.heartbeat" });
    await broker.publish(taskMessage("miss"), { exchange, routingKey: "task.sent" });
    expect(await ids(queue)).toEqual(["match"]);
  });
});

describe("keyPrefix", () => {
  it("prefixes lists and the unacked bookkeeping", async () => {
    const queue = uniqueName("pfx");
    const broker = await pool.make();
    await broker.publish(taskMessage("p-1", { priority: 6 }), { exchange: "", routingKey: queue });
    expect(await raw.client.llen(`${prefix}${queue}${SEP}6`)).toBe(1);
    expect(await raw.client.exists(`${queue}${SEP}6`)).toBe(0);
    const seen = collector();
    await broker.consume([queue], seen.handler, { prefetch: 1 });
    await until(() => seen.deliveries.length === 1, "the delivery");
    expect(await raw.client.hlen(`${prefix}unacked`)).toBe(1);
    expect(await raw.client.zcard(`${prefix}unacked_index`)).toBe(1);
    await seen.deliveries[0]!.ack();
    expect(await raw.client.hlen(`${prefix}unacked`)).toBe(0);
  });
});

describe("broadcast", () => {
  it("publishes on /<db>.<exchange> and receives kombu's fanout messages with and without routing key", async () => {
    const exchange = uniqueName("bcast");
    const channel = `${prefix}/4.${exchange}`;
    const listener = new Redis(url);
    const heard: string[] = [];
    listener.on("pmessage", (_pattern: string, name: string) => heard.push(name));
    await listener.psubscribe(`${channel}*`);
    try {
      const [sender, receiver] = [await pool.make(), await pool.make()];
      const received: string[] = [];
      const subscription = await receiver.subscribeBroadcast!(exchange, (message) => {
        received.push(String(message.headers.id));
      });
      await sender.broadcast!(exchange, taskMessage("from-tq"));
      const envelope = (id: string) => JSON.stringify({ body: "", headers: { id }, properties: {} });
      // As kombu publishes pidbox requests (no routing key) and events (with one).
      await raw.client.publish(channel, envelope("pidbox"));
      await raw.client.publish(`${channel}/worker.heartbeat`, envelope("event"));
      await raw.client.publish(`${channel}.other`, envelope("other-exchange"));
      await until(() => received.length >= 3, "three fanout messages");
      await sleep(100);
      expect(received.sort()).toEqual(["event", "from-tq", "pidbox"]);
      expect(heard).toContain(channel);
      await subscription.cancel();
      await sender.broadcast!(exchange, taskMessage("after-cancel"));
      await sleep(100);
      expect(received).toHaveLength(3);
    } finally {
      listener.disconnect();
    }
  });

  it("consumes messages that arrive from other producers within the poll interval", async () => {
    const queue = uniqueName("poll");
    const broker = await pool.make({ pollIntervalMs: 50 });
    const seen = collector((delivery) => delivery.ack());
    await broker.consume([queue], seen.handler, { prefetch: 4 });
    await sleep(100);
    const other = await pool.make();
    await other.publish(taskMessage("tq-published"), { exchange: "", routingKey: queue });
    await raw.client.lpush(
      `${prefix}${queue}`,
      JSON.stringify({ body: "", headers: { id: "raw-lpush" }, properties: {} }),
    );
    await until(() => seen.deliveries.length === 2, "both messages");
    expect(seen.deliveries.map(idOf).sort()).toEqual(["raw-lpush", "tq-published"]);
  });
});
