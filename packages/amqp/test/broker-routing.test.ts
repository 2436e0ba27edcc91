/**
 * Routing and queue features on the real RabbitMQ: direct, topic and fanout exchanges declared as
 * Celery's `task_queues`, per-call exchange and routing key, priorities, dead-lettering of rejected
 * messages, quorum queues, and PRECONDITION_FAILED reported clearly without harming the broker.
 */
import { TqError } from "@tq/core";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { RawAmqp, rabbitmqctl, uniqueName } from "./support/amqp-server.js";
import {
  BrokerPool,
  collector,
  idOf,
  recordingLogger,
  sleep,
  taskMessage,
  until,
} from "./support/broker-fixtures.js";

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

async function drain(queue: string): Promise<string[]> {
  return raw.withChannel(async (channel) => {
    const ids: string[] = [];
    for (
      let got = await channel.get(queue, { noAck: true });
      got;
      got = await channel.get(queue, { noAck: true })
    ) {
      ids.push(String(got.properties.headers?.id));
    }
    return ids;
  });
}

describe("exchanges", () => {
  it("routes through direct, topic and fanout exchanges, with the exchange and routing key of each call", async () => {
    const [a, b, c] = [name("a"), name("b"), name("c")];
    const [direct, topic, fanout] = [name("direct"), name("topic"), name("fanout")];
    const broker = await pool.make();
    await broker.declareQueues([
      { name: a },
      { name: b, exchange: direct, routingKey: "images" },
      { name: c, exchange: topic, exchangeType: "topic", routingKey: "task.#" },
      { name: a, exchange: topic, exchangeType: "topic", routingKey: "*.urgent" },
      { name: a, exchange: fanout, exchangeType: "fanout", routingKey: "" },
      { name: b, exchange: fanout, exchangeType: "fanout", routingKey: "" },
    ]);
    await broker.publish(taskMessage("by-queue-exchange"), { exchange: a, routingKey: a });
    await broker.publish(taskMessage("default-exchange"), { exchange: "", routingKey: b });
    await broker.publish(taskMessage("direct-hit"), { exchange: direct, routingKey: "images" });
    await broker.publish(taskMessage("direct-miss"), { exchange: direct, routingKey: "video" });
    await broker.publish(taskMessage("topic-deep"), { exchange: topic, routingKey: "task.a.b" });
    await broker.publish(taskMessage("topic-both"), { exchange: topic, routingKey: "task.urgent" });
    await broker.publish(taskMessage("topic-miss"), { exchange: topic, routingKey: "other.thing.urgent" });
    await broker.publish(taskMessage("fan"), { exchange: fanout, routingKey: "ignored" });
    expect(await drain(a)).toEqual(["by-queue-exchange", "topic-both", "fan"]);
    expect(await drain(b)).toEqual(["default-exchange", "direct-hit", "fan"]);
    expect(await drain(c)).toEqual(["topic-deep", "topic-both"]);
  });

  it("rejects a publish to an exchange that does not exist with TQ_CONFIG, and goes on publishing", async () => {
    const queue = name("after-missing");
    const broker = await pool.make();
    const error = await broker
      .publish(taskMessage("lost"), { exchange: name("missing"), routingKey: "x" })
      .catch((e: unknown) => e);
    expect(TqError.is(error, "TQ_CONFIG")).toBe(true);
    expect((error as Error).message).toMatch(/NOT_FOUND/);
    await broker.publish(taskMessage("fine"), { exchange: "", routingKey: queue });
    expect(await drain(queue)).toEqual(["fine"]);
  });
});

describe("publisher confirms", () => {
  it("rejects a publish RabbitMQ nacks with TQ_PUBLISH_NACKED (a full queue with reject-publish)", async () => {
    const queue = name("full");
    await raw.withChannel((channel) =>
      channel.assertQueue(queue, {
        durable: true,
        arguments: { "x-max-length": 1, "x-overflow": "reject-publish" },
      }),
    );
    const broker = await pool.make();
    await broker.publish(taskMessage("fits"), { exchange: "", routingKey: queue });
    const error = await broker
      .publish(taskMessage("nacked"), { exchange: "", routingKey: queue })
      .catch((e) => e);
    expect(TqError.is(error, "TQ_PUBLISH_NACKED")).toBe(true);
    expect(await drain(queue)).toEqual(["fits"]);
  });

  it("rejects publishes whose channel died before their confirm, and publishes on a new channel after", async () => {
    const [exchange, queue, other] = [name("doomed"), name("doomed-q"), name("other")];
    const broker = await pool.make();
    await broker.declareQueues([{ name: queue, exchange, exchangeType: "topic", routingKey: "#" }]);
    await broker.publish(taskMessage("routed"), { exchange, routingKey: "a" });
    // Deleted behind the broker's back: the next publish to it makes RabbitMQ close the channel.
    await raw.deleteExchanges([exchange]);
    const outcomes = await Promise.allSettled([
      broker.publish(taskMessage("gone-1"), { exchange, routingKey: "a" }),
      broker.publish(taskMessage("gone-2"), { exchange, routingKey: "a" }),
    ]);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe("rejected");
      const reason = (outcome as PromiseRejectedResult).reason;
      expect(TqError.is(reason, "TQ_CONNECTION")).toBe(true);
      expect((reason as Error).message).toMatch(/before RabbitMQ confirmed.*NOT_FOUND/s);
    }
    await broker.publish(taskMessage("fine"), { exchange: "", routingKey: other });
    expect(await drain(other)).toEqual(["fine"]);
    // The broker no longer takes the exchange for granted.
    const later = await broker.publish(taskMessage("later"), { exchange, routingKey: "a" }).catch((e) => e);
    expect(TqError.is(later, "TQ_CONFIG")).toBe(true);
  });
});

describe("queue features", () => {
  it("serves higher priorities first with the broker-wide maxPriority (x-max-priority)", async () => {
    const queue = name("prio");
    const broker = await pool.make({ maxPriority: 9 });
    for (const [id, priority] of [
      ["low", 1],
      ["high", 9],
      ["none", 0],
      ["mid", 5],
    ] as const) {
      await broker.publish(taskMessage(id, { priority }), { exchange: "", routingKey: queue });
    }
    const queues = await rabbitmqctl("list_queues", "name", "arguments");
    expect(queues.find(([n]) => n === queue)?.[1]).toContain('{"x-max-priority",9}');
    const seen = collector((delivery) => delivery.ack());
    await broker.consume([queue], seen.handler, { prefetch: 1 });
    await until(() => seen.deliveries.length === 4, "four deliveries");
    expect(seen.deliveries.map(idOf)).toEqual(["high", "mid", "low", "none"]);
  });

  it("dead-letters rejected messages to deadLetterExchange, and requeues others marked redelivered", async () => {
    const [queue, dlx, dlq] = [name("work"), name("dlx"), name("dlq")];
    await raw.withChannel(async (channel) => {
      await channel.assertExchange(dlx, "fanout", { durable: false });
      await channel.assertQueue(dlq, { durable: false });
      await channel.bindQueue(dlq, dlx, "");
    });
    const broker = await pool.make({ deadLetterExchange: dlx });
    await broker.publish(taskMessage("poison"), { exchange: "", routingKey: queue });
    await broker.publish(taskMessage("again"), { exchange: "", routingKey: queue });
    const seen = collector((delivery) => {
      if (idOf(delivery) === "poison") return delivery.reject();
      return delivery.redelivered ? delivery.ack() : delivery.requeue();
    });
    await broker.consume([queue], seen.handler, { prefetch: 1 });
    await until(() => seen.deliveries.length === 3, "poison, again, again redelivered");
    expect(seen.deliveries.map((d) => [idOf(d), d.redelivered])).toEqual([
      ["poison", false],
      ["again", false],
      ["again", true],
    ]);
    const dead = collector((delivery) => delivery.ack());
    await broker.consume([dlq], dead.handler, { prefetch: 1 });
    await until(() => dead.deliveries.length === 1, "the dead-lettered message");
    const { headers } = dead.deliveries[0]!.message;
    expect(headers.id).toBe("poison");
    expect(headers["x-first-death-reason"]).toBe("rejected");
    expect(headers["x-first-death-queue"]).toBe(queue);
    // RabbitMQ's typed x-death fields arrive as plain JSON, so the message can be published again.
    const [death] = headers["x-death"] as Record<string, unknown>[];
    expect(death).toMatchObject({ count: 1, reason: "rejected", queue, "routing-keys": [queue] });
    expect(typeof death?.time).toBe("number");
    const again = name("again");
    await broker.publish(dead.deliveries[0]!.message, { exchange: "", routingKey: again });
    const copy = await raw.withChannel((channel) => channel.get(again, { noAck: true }));
    expect(copy ? copy.properties.headers?.["x-death"]?.[0]?.count : "no copy").toBe(1);
    expect(await raw.readyCount(queue)).toBe(0);
  });

  it("declares quorum queues with queueType: quorum, and consumes, requeues and acks on them", async () => {
    const [one, two] = [name("quorum-1"), name("quorum-2")];
    const broker = await pool.make({ queueType: "quorum", maxPriority: 9 });
    await broker.declareQueues([{ name: one }, { name: two }]);
    const queues = await rabbitmqctl("list_queues", "name", "type", "durable", "arguments");
    expect(queues.find(([n]) => n === one)?.slice(1, 3)).toEqual(["quorum", "true"]);
    // Quorum queues have no x-max-priority before RabbitMQ 4: the broker leaves it out.
    expect(queues.find(([n]) => n === one)?.[3]).not.toContain("x-max-priority");
    await broker.publish(taskMessage("q-1"), { exchange: "", routingKey: one });
    await broker.publish(taskMessage("q-2"), { exchange: two, routingKey: two });
    const seen = collector((delivery) => (delivery.redelivered ? delivery.ack() : delivery.requeue()));
    await broker.consume([one, two], seen.handler, { prefetch: 2 });
    await until(() => seen.deliveries.length === 4, "each message twice");
    expect(
      seen.deliveries
        .filter((d) => d.redelivered)
        .map(idOf)
        .sort(),
    ).toEqual(["q-1", "q-2"]);
    await until(async () => (await raw.readyCount(one)) + (await raw.readyCount(two)) === 0, "empty queues");
  });
});

describe("PRECONDITION_FAILED", () => {
  it("reports a queue declared with other arguments as one TQ_CONFIG error, and the broker keeps working", async () => {
    const [queue, other, busy] = [name("clash"), name("other"), name("busy")];
    const logger = recordingLogger();
    await (await pool.make()).declareQueues([{ name: queue, maxPriority: 5 }]);
    const broker = await pool.make({ logger });
    const seen = collector((delivery) => delivery.ack());
    await broker.consume([busy], seen.handler, { prefetch: 2 });
    await broker.publish(taskMessage("before"), { exchange: "", routingKey: busy });

    const error = await broker.declareQueues([{ name: queue, maxPriority: 9 }]).catch((e: unknown) => e);
    expect(TqError.is(error, "TQ_CONFIG")).toBe(true);
    expect((error as Error).message).toContain(`queue "${queue}"`);
    expect((error as Error).message).toMatch(/PRECONDITION_FAILED - inequivalent arg 'x-max-priority'/);
    const typeClash = await broker
      .declareQueues([{ name: other, exchange: queue, exchangeType: "topic" }])
      .catch((e: unknown) => e);
    expect(TqError.is(typeClash, "TQ_CONFIG")).toBe(true);
    expect((typeClash as Error).message).toContain(`exchange "${queue}"`);

    // The consumer, publishing and declaring all go on.
    await broker.publish(taskMessage("after"), { exchange: "", routingKey: busy });
    await until(() => seen.deliveries.length === 2, "both messages of the busy queue");
    await broker.declareQueues([{ name: other }]);
    // A publish to the queue as it exists works (the implicit declaration only logs the clash).
    await broker.publish(taskMessage("to-clash"), { exchange: "", routingKey: queue });
    expect(await drain(queue)).toEqual(["to-clash"]);
    expect(logger.lines.filter((line) => line.level === "error")).toEqual([]);
    await sleep(50);
    expect(seen.deliveries.map(idOf)).toEqual(["before", "after"]);
  });
});
