import type { ChannelModel } from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bindQueueForDelayedDelivery,
  DELAYED_DELIVERY_EXCHANGE,
  DELAYED_EXCHANGE,
  declareDelayedTopology,
  delayedLevelName,
  delayedPublishTarget,
  delayedRoutingKey,
  MAX_DELAY_SECONDS,
} from "../src/delayed-delivery.js";
import {
  connectForTest,
  deleteQueues,
  listBindings,
  python,
  uniquePrefix,
  waitForMessage,
} from "./support/delay-amqp.js";

// The celery_delayed_* exchanges and queues are global to the vhost by design (Celery workers and other
// tq processes share them), so these tests declare them (idempotently) and leave them in place; only
// the target queues are unique to the run and deleted afterwards.

describe("delayedRoutingKey", () => {
  const zeros = (n: number): string => "0.".repeat(n);

  it("writes the delay in seconds as 28 binary digits, then the routing key", () => {
    expect(delayedRoutingKey(5_000, "celery")).toBe(`${zeros(25)}1.0.1.celery`);
    expect(delayedRoutingKey(0, "celery")).toBe(`${zeros(28)}celery`);
    expect(delayedRoutingKey(5_000, "celery").split(".")).toHaveLength(29);
  });

  it("rounds up to whole seconds, so nothing arrives early", () => {
    expect(delayedRoutingKey(1, "q")).toBe(delayedRoutingKey(1_000, "q"));
    expect(delayedRoutingKey(1_001, "q")).toBe(delayedRoutingKey(2_000, "q"));
    expect(delayedRoutingKey(-5_000, "q")).toBe(delayedRoutingKey(0, "q"));
  });

  it("caps at 2^28 − 1 seconds and keeps one prefix on a key delayed again", () => {
    expect(delayedRoutingKey(1e15, "q")).toBe(`${"1.".repeat(28)}q`);
    expect(delayedRoutingKey(Number.POSITIVE_INFINITY, "q")).toBe(`${"1.".repeat(28)}q`);
    expect(MAX_DELAY_SECONDS).toBe(268_435_455);
    expect(delayedRoutingKey(3_000, delayedRoutingKey(9_000, "a.b"))).toBe(delayedRoutingKey(3_000, "a.b"));
  });

  it("refuses NaN, an empty routing key and one too long for AMQP", () => {
    expect(() => delayedRoutingKey(Number.NaN, "q")).toThrow(expect.objectContaining({ code: "TQ_CONFIG" }));
    expect(() => delayedRoutingKey(1_000, "")).toThrow(expect.objectContaining({ code: "TQ_CONFIG" }));
    expect(delayedRoutingKey(1_000, "x".repeat(199))).toHaveLength(255);
    expect(() => delayedRoutingKey(1_000, "x".repeat(200))).toThrow(
      expect.objectContaining({ code: "TQ_CONFIG" }),
    );
  });

  it("publishes at the level of the highest set bit, with the same routing key", () => {
    expect(delayedPublishTarget(5_000, "q")).toEqual({
      exchange: "celery_delayed_2",
      routingKey: delayedRoutingKey(5_000, "q"),
    });
    expect(delayedPublishTarget(1, "q").exchange).toBe("celery_delayed_0");
    expect(delayedPublishTarget(3_600_000, "q").exchange).toBe("celery_delayed_11");
    expect(delayedPublishTarget(1e15, "q").exchange).toBe(DELAYED_EXCHANGE);
    expect(delayedPublishTarget(0, "q")).toEqual({
      exchange: DELAYED_DELIVERY_EXCHANGE,
      routingKey: delayedRoutingKey(0, "q"),
    });
  });

  it("matches kombu's calculate_routing_key byte for byte", async () => {
    const cases: [number, string][] = [
      [1, "celery"],
      [5, "celery"],
      [86_400, "tasks.high"],
      [MAX_DELAY_SECONDS, "q"],
    ];
    // kombu ≥ 5.5's formula (kombu 5.2 installed here has no native_delayed_delivery module).
    const out = await python(
      `import json\nfor c, rk in ${JSON.stringify(cases)}:\n    print('.'.join(f'{c:028b}') + f'.{rk}')`,
    );
    expect(out.trim().split("\n")).toEqual(cases.map(([s, rk]) => delayedRoutingKey(s * 1000, rk)));
  });
});

describe("delayed-delivery topology on RabbitMQ", () => {
  const prefix = uniquePrefix();
  const created: string[] = [];
  let lastDeliverAt = 0;
  let connection: ChannelModel;

  beforeAll(async () => {
    connection = await connectForTest(`${prefix}topology`);
  });

  afterAll(async () => {
    await deleteQueues(connection, created, lastDeliverAt);
    await connection.close();
  });

  it("declares the levels idempotently, exactly as kombu ≥ 5.5 declares them", async () => {
    const channel = await connection.createChannel();
    await declareDelayedTopology(channel);
    await declareDelayedTopology(channel);
    await channel.close();

    // kombu's declaration (queue type quorum, Celery's default): RabbitMQ accepts a redeclaration only
    // when type, durability and every argument are equivalent, so this fails on any difference.
    const declared = await python(`
import amqp
c = amqp.Connection('127.0.0.1:5672', userid='guest', password='guest', virtual_host='/')
c.connect()
ch = c.channel()
for level in range(27, -1, -1):
    name = f'celery_delayed_{level}'
    ch.exchange_declare(name, 'topic', durable=True, auto_delete=False)
    args = {'x-queue-type': 'quorum', 'x-overflow': 'reject-publish',
            'x-message-ttl': pow(2, level) * 1000,
            'x-dead-letter-exchange': f'celery_delayed_{level - 1}' if level > 0 else 'celery_delayed_delivery',
            'x-dead-letter-strategy': 'at-least-once'}
    ch.queue_declare(name, durable=True, exclusive=False, auto_delete=False, arguments=args)
ch.exchange_declare('celery_delayed_delivery', 'topic', durable=True, auto_delete=False)
print('ok')
# The check is strict: one different argument is refused.
try:
    c.channel().queue_declare('celery_delayed_0', durable=True, arguments={**args, 'x-message-ttl': 999})
except amqp.exceptions.PreconditionFailed:
    print('strict')
c.close()
`);
    expect(declared.trim().split("\n")).toEqual(["ok", "strict"]);

    const bindings = await listBindings(([source]) => source?.startsWith("celery_delayed_") ?? false);
    const has = (source: string, destination: string, key: string): boolean =>
      bindings.some(([s, d, k]) => s === source && d === destination && k === key);
    expect(has(DELAYED_EXCHANGE, DELAYED_EXCHANGE, "1.#")).toBe(true);
    expect(has(DELAYED_EXCHANGE, delayedLevelName(26), "0.#")).toBe(true);
    expect(has(delayedLevelName(0), delayedLevelName(0), `${"*.".repeat(27)}1.#`)).toBe(true);
    expect(has(delayedLevelName(0), DELAYED_DELIVERY_EXCHANGE, `${"*.".repeat(27)}0.#`)).toBe(true);
    expect(has(delayedLevelName(5), delayedLevelName(4), `${"*.".repeat(22)}0.#`)).toBe(true);
  });

  it("delivers after the delay, from the top level or the highest bit's: 2 s, and 3 s through two levels", async () => {
    const queue = `${prefix}target`;
    created.push(queue);
    const channel = await connection.createConfirmChannel();
    await declareDelayedTopology(channel);
    await channel.assertQueue(queue, { durable: false });
    await bindQueueForDelayedDelivery(channel, queue, queue);
    await bindQueueForDelayedDelivery(channel, queue, queue);

    const sentAt = Date.now();
    lastDeliverAt = sentAt + 3_000;
    const entry = delayedPublishTarget(3_000, queue);
    expect(entry.exchange).toBe(delayedLevelName(1));
    const targets = [
      { delayMs: 3_000, ...entry },
      { delayMs: 2_000, exchange: DELAYED_EXCHANGE, routingKey: delayedRoutingKey(2_000, queue) },
    ];
    for (const { delayMs, exchange, routingKey } of targets) {
      channel.publish(exchange, routingKey, Buffer.from(String(delayMs)), {
        headers: { id: `m-${delayMs}`, eta: new Date(sentAt + delayMs).toISOString() },
        deliveryMode: 2,
      });
    }
    await channel.waitForConfirms();

    const arrivals: { body: string; afterMs: number; headers: Record<string, unknown> }[] = [];
    for (let n = 0; n < 2; n += 1) {
      const message = await waitForMessage(connection, queue, 8_000);
      expect(message).not.toBeNull();
      arrivals.push({
        body: message!.content.toString(),
        afterMs: Date.now() - sentAt,
        headers: message!.properties.headers ?? {},
      });
    }
    await channel.close();
    expect(arrivals.map((a) => a.body)).toEqual(["2000", "3000"]);
    expect(arrivals[0]!.afterMs).toBeGreaterThanOrEqual(2_000);
    expect(arrivals[0]!.afterMs).toBeLessThan(4_000);
    expect(arrivals[1]!.afterMs).toBeGreaterThanOrEqual(3_000);
    expect(arrivals[1]!.afterMs).toBeLessThan(5_000);
    // Headers travel unchanged; RabbitMQ adds x-death for each level the message waited in.
    expect(arrivals[1]!.headers).toMatchObject({ id: "m-3000" });
    const deaths = arrivals[1]!.headers["x-death"] as { queue: string }[];
    expect(deaths.map((d) => d.queue).sort()).toEqual([delayedLevelName(0), delayedLevelName(1)]);
  });

  it("delivers a 0 s delay at once", async () => {
    const queue = `${prefix}now`;
    created.push(queue);
    const channel = await connection.createConfirmChannel();
    await declareDelayedTopology(channel);
    await channel.assertQueue(queue, { durable: false });
    await bindQueueForDelayedDelivery(channel, queue, queue);
    const sentAt = Date.now();
    channel.publish(DELAYED_EXCHANGE, delayedRoutingKey(0, queue), Buffer.from("now"));
    await channel.waitForConfirms();
    const message = await waitForMessage(connection, queue, 2_000);
    await channel.close();
    expect(message?.content.toString()).toBe("now");
    expect(Date.now() - sentAt).toBeLessThan(500);
  });
});
