/**
 * The message and topology on the wire, against Celery's captures (celery-protocol.md §1.4): what tq
 * publishes, read raw with amqplib `get` and with Python's py-amqp; what Celery publishes (py-amqp,
 * the same properties and headers), consumed and decoded by tq; JSON header shapes that AMQP field
 * tables must carry exactly; and the exchange, queue and binding Celery declares.
 */
import { buildTaskMessage, jsonSerializer, parseTaskMessage, TqError, type TransportMessage } from "@tq/core";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { pythonGet, pythonPublishCeleryMessage } from "./support/amqp-python.js";
import { amqpTestUrl, RawAmqp, rabbitmqctl, uniqueName } from "./support/amqp-server.js";
import { BrokerPool, collector, taskMessage, until } from "./support/broker-fixtures.js";

const raw = new RawAmqp();
const pool = new BrokerPool();
const created: string[] = [];
const name = (label: string): string => {
  const queue = uniqueName(label);
  created.push(queue);
  return queue;
};

afterEach(() => pool.closeAll());
afterAll(async () => {
  await raw.deleteQueues(created);
  await raw.deleteExchanges(created);
  await raw.close();
});

const REPLY_TO = "6148b22c-ecd8-3cee-a1dd-80805a7d655c";

// add.apply_async((2, 3), priority=5, countdown=10, expires=60, headers={'x_custom': 'hi'}), built by tq.
function celeryLikeMessage(id: string): TransportMessage {
  const now = Date.now();
  return buildTaskMessage(
    {
      id,
      task: "probe.add",
      args: [2, 3],
      kwargs: {},
      eta: new Date(now + 10_000),
      expires: new Date(now + 60_000),
      priority: 5,
      replyTo: REPLY_TO,
      origin: "gen10724@vm",
      headers: { x_custom: "hi" },
    },
    jsonSerializer,
  );
}

describe("what tq publishes", () => {
  it("reads back with amqplib get as Celery's capture, field by field", async () => {
    const queue = name("capture");
    const id = "ffffffff-0000-0000-0000-000000000001";
    const broker = await pool.make();
    await broker.declareQueues([{ name: queue, maxPriority: 9 }]);
    const sent = celeryLikeMessage(id);
    await broker.publish(sent, { exchange: "", routingKey: queue });
    const got = await raw.withChannel((channel) => channel.get(queue, { noAck: true }));
    if (!got) throw new Error("no message in the queue");
    expect(got.fields).toMatchObject({ exchange: "", routingKey: queue, redelivered: false });
    const p = got.properties;
    expect(p.contentType).toBe("application/json");
    expect(p.contentEncoding).toBe("utf-8");
    expect(p.deliveryMode).toBe(2);
    expect(p.priority).toBe(5);
    expect(p.correlationId).toBe(id);
    expect(p.replyTo).toBe(REPLY_TO);
    expect(Number(p.expiration)).toBeGreaterThan(59_000);
    expect(Number(p.expiration)).toBeLessThanOrEqual(60_000);
    expect(Object.keys(p.headers ?? {})).toEqual([
      ...["lang", "task", "id", "shadow", "eta", "expires", "group", "group_index", "retries"],
      ...[
        "timelimit",
        "root_id",
        "parent_id",
        "argsrepr",
        "kwargsrepr",
        "origin",
        "ignore_result",
        "x_custom",
      ],
    ]);
    expect(p.headers).toMatchObject({
      lang: "js",
      task: "probe.add",
      id,
      shadow: null,
      group: null,
      group_index: null,
      retries: 0,
      timelimit: [null, null],
      root_id: id,
      parent_id: null,
      argsrepr: "(2, 3)",
      kwargsrepr: "{}",
      origin: "gen10724@vm",
      ignore_result: false,
      x_custom: "hi",
    });
    expect(p.headers?.eta).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
    // The body is the raw JSON, not base64 as on Redis.
    expect(got.content.toString("utf8").startsWith("[[2")).toBe(true);
    expect(JSON.parse(got.content.toString("utf8"))).toEqual([
      [2, 3],
      {},
      { callbacks: null, errbacks: null, chain: null, chord: null },
    ]);
  });

  it("is decoded by Python's py-amqp (Celery's client) with None, lists and dicts in the headers", async () => {
    const queue = name("py-get");
    const broker = await pool.make();
    const sent = celeryLikeMessage("ffffffff-0000-0000-0000-000000000002");
    sent.headers.x_nested = { list: [1, "two", null, [3, { four: 4.5 }]], empty: {}, none: null, yes: true };
    await broker.publish(sent, { exchange: "", routingKey: queue });
    const got = await pythonGet(queue);
    // py-amqp decodes a utf-8 body to text itself, as it does for Celery's messages.
    expect(got?.body_type).toBe("str");
    expect(got?.delivery_info).toMatchObject({ exchange: "", routing_key: queue });
    expect(got?.properties).toMatchObject({
      content_type: "application/json",
      content_encoding: "utf-8",
      delivery_mode: 2,
      priority: 5,
      correlation_id: sent.properties.correlation_id,
      reply_to: REPLY_TO,
      expiration: sent.properties.expiration,
    });
    expect(got?.properties.application_headers).toEqual(sent.headers);
    expect(JSON.parse(got!.body)).toEqual(JSON.parse(new TextDecoder().decode(sent.body)));
  });
});

describe("what Celery publishes", () => {
  it("is consumed and decoded by tq: headers, properties and body as py-amqp sent them", async () => {
    const queue = name("from-py");
    const id = "ffffffff-0000-0000-0000-000000000003";
    const broker = await pool.make();
    await broker.declareQueues([{ name: queue, maxPriority: 9 }]);
    await pythonPublishCeleryMessage(queue, id);
    const seen = collector((delivery) => delivery.ack());
    await broker.consume([queue], seen.handler, { prefetch: 1 });
    await until(() => seen.deliveries.length === 1, "the Python message");
    const { message } = seen.deliveries[0]!;
    expect(message.contentType).toBe("application/json");
    expect(message.contentEncoding).toBe("utf-8");
    expect(message.properties).toEqual({
      correlation_id: id,
      reply_to: REPLY_TO,
      delivery_mode: 2,
      priority: 5,
      expiration: "60000",
    });
    expect(message.headers).toEqual({
      lang: "py",
      task: "probe.add",
      id,
      shadow: null,
      eta: "2026-11-24T00:27:19.123303+00:00",
      expires: "2026-11-24T00:28:09.123303+00:00",
      group: null,
      group_index: null,
      retries: 0,
      timelimit: [null, null],
      root_id: id,
      parent_id: null,
      argsrepr: "(2, 3)",
      kwargsrepr: "{}",
      origin: "gen10724@vm",
      ignore_result: false,
      x_custom: "hi",
      x_nested: { list: [1, "two", null, { three: 3.5 }], empty: {} },
    });
    const task = parseTaskMessage(message, [jsonSerializer]);
    expect(task).toMatchObject({ protocol: 2, id, task: "probe.add", args: [2, 3], kwargs: {}, retries: 0 });
    expect(task.eta?.toISOString()).toBe("2026-11-24T00:27:19.123Z");
    expect(task.embed).toEqual({ callbacks: null, errbacks: null, chain: null, chord: null });
  });
});

describe("headers", () => {
  it("round-trip JSON nulls, arrays and nested objects exactly through AMQP field tables", async () => {
    const queue = name("headers");
    const broker = await pool.make();
    const headers = {
      ...taskMessage("h-1").headers,
      null_value: null,
      empty_list: [],
      empty_object: {},
      list: [1, -200, 70_000, 2 ** 40, 0.5, "s", true, false, null, [null, [[]]], { k: [{}] }],
      nested: { a: { b: { c: [1, { d: null }], e: "é🎉" } } },
      numbers: { small: -128, big: Number.MAX_SAFE_INTEGER, negative: -(2 ** 33), fraction: -1.25 },
    };
    const message = { ...taskMessage("h-1"), headers };
    await broker.publish(message, { exchange: "", routingKey: queue });
    const seen = collector((delivery) => delivery.ack());
    await broker.consume([queue], seen.handler, { prefetch: 1 });
    await until(() => seen.deliveries.length === 1, "the message");
    expect(seen.deliveries[0]!.message.headers).toEqual(headers);
  });

  it("writes values AMQP tables cannot hold as JSON would, and refuses amqplib's '!' annotation", async () => {
    const queue = name("json-like");
    const broker = await pool.make();
    const when = new Date("2030-01-02T03:04:05.678Z");
    const message = taskMessage("h-2");
    message.headers = { ...message.headers, when, holes: [1, undefined, 3], skipped: undefined };
    await broker.publish(message, { exchange: "", routingKey: queue });
    const got = await raw.withChannel((channel) => channel.get(queue, { noAck: true }));
    if (!got) throw new Error("no message in the queue");
    expect(got.properties.headers).toMatchObject({ when: when.toISOString(), holes: [1, null, 3] });
    expect(got.properties.headers).not.toHaveProperty("skipped");
    const annotated = { ...taskMessage("h-3"), headers: { id: "h-3", x: { "!": "timestamp", value: 1 } } };
    const error = await broker
      .publish(annotated, { exchange: "", routingKey: queue })
      .catch((e: unknown) => e);
    expect(TqError.is(error, "TQ_SERIALIZATION")).toBe(true);
  });
});

describe("topology", () => {
  it("declares Celery's: a durable direct exchange named like the queue, a durable queue, bound by its name", async () => {
    const [declared, implicit] = [name("celery"), name("implicit")];
    const broker = await pool.make();
    await broker.declareQueues([{ name: declared }]);
    // A publish to the default exchange declares the same topology first, as Celery does.
    await broker.publish(taskMessage("t-1"), { exchange: "", routingKey: implicit });
    const exchanges = await rabbitmqctl("list_exchanges", "name", "type", "durable", "auto_delete");
    const queues = await rabbitmqctl(
      "list_queues",
      "name",
      "durable",
      "auto_delete",
      "exclusive",
      "arguments",
    );
    const bindings = await rabbitmqctl("list_bindings", "source_name", "destination_name", "routing_key");
    for (const queue of [declared, implicit]) {
      await raw.withChannel(async (channel) => {
        await channel.checkExchange(queue);
        expect((await channel.checkQueue(queue)).queue).toBe(queue);
      });
      expect(exchanges.find(([n]) => n === queue)).toEqual([queue, "direct", "true", "false"]);
      expect(queues.find(([n]) => n === queue)).toEqual([queue, "true", "false", "false", "[]"]);
      expect(bindings.filter(([, destination]) => destination === queue).sort()).toEqual([
        ["", queue, queue],
        [queue, queue, queue],
      ]);
    }
    expect(await raw.readyCount(implicit)).toBe(1);
  });

  it("declares broadcast exchanges fanout and non-durable, with exclusive auto-delete server-named queues", async () => {
    const exchange = name("pidbox");
    const broker = await pool.make();
    await broker.subscribeBroadcast(exchange, () => undefined);
    const exchanges = await rabbitmqctl("list_exchanges", "name", "type", "durable", "auto_delete");
    expect(exchanges.find(([n]) => n === exchange)).toEqual([exchange, "fanout", "false", "false"]);
    const bindings = await rabbitmqctl("list_bindings", "source_name", "destination_name", "routing_key");
    const [binding] = bindings.filter(([source]) => source === exchange);
    expect(binding?.[1]).toMatch(/^amq\.gen-/);
    const queues = await rabbitmqctl("list_queues", "name", "durable", "auto_delete", "exclusive");
    expect(queues.find(([n]) => n === binding?.[1])).toEqual([binding?.[1], "false", "true", "true"]);
  });

  it("connects with the URL forms kombu accepts", async () => {
    const url = new URL(amqpTestUrl());
    const auth = `${url.username}:${url.password}`;
    for (const form of [`pyamqp://${auth}@${url.host}//`, `amqp://${auth}@${url.host}/%2F?heartbeat=30`]) {
      const broker = await pool.make({ url: form });
      expect(await broker.queueLength(name("url"))).toBe(0);
    }
  });
});
