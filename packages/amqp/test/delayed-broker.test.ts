import { buildTaskMessage, type Consumer, jsonSerializer, type TransportMessage } from "@tq/core";
import type { ChannelModel } from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AmqpBroker } from "../src/broker.js";
import {
  AMQP_URL,
  connectForTest,
  deleteExchanges,
  deleteQueues,
  uniquePrefix,
} from "./support/delay-amqp.js";

// End to end through AmqpBroker: `publish(…, { deliverAt })` goes through the shared celery_delayed_*
// topology (declared idempotently, left in place) and arrives in the target queue when due.

interface Arrival {
  message: TransportMessage;
  at: number;
}

describe("AmqpBroker.publish with deliverAt", () => {
  const prefix = uniquePrefix();
  const queues = [`${prefix}later`, `${prefix}now`];
  let broker: AmqpBroker;
  let admin: ChannelModel;
  const consumers: Consumer[] = [];
  let lastDeliverAt = 0;

  beforeAll(async () => {
    broker = new AmqpBroker({ url: AMQP_URL, connectionName: `${prefix}broker` });
    await broker.connect();
    admin = await connectForTest(`${prefix}admin`);
  });

  afterAll(async () => {
    for (const consumer of consumers) await consumer.cancel();
    await broker.close();
    await deleteQueues(admin, queues, lastDeliverAt);
    await deleteExchanges(admin, queues);
    await admin.close();
  });

  async function collect(queue: string): Promise<Arrival[]> {
    const arrivals: Arrival[] = [];
    const consumer = await broker.consume(
      [queue],
      async (delivery) => {
        arrivals.push({ message: delivery.message, at: Date.now() });
        await delivery.ack();
      },
      { prefetch: 10 },
    );
    consumers.push(consumer);
    return arrivals;
  }

  async function until(arrivals: Arrival[], count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (arrivals.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }

  it("delivers a task message 2 s later, unchanged but for RabbitMQ's x-death trail", async () => {
    const queue = queues[0]!;
    const arrivals = await collect(queue);
    const eta = new Date(Date.now() + 2_000);
    lastDeliverAt = eta.getTime();
    const message = buildTaskMessage(
      { id: crypto.randomUUID(), task: "tasks.later", args: [1, null, "x"], kwargs: {}, eta },
      jsonSerializer,
    );
    message.headers.x_custom = "kept";
    const sentAt = Date.now();
    await broker.publish(message, { exchange: "", routingKey: queue }, { deliverAt: eta });
    await until(arrivals, 1, 6_000);
    expect(arrivals).toHaveLength(1);
    const [arrival] = arrivals;
    expect(arrival!.at).toBeGreaterThanOrEqual(eta.getTime());
    expect(arrival!.at - sentAt).toBeLessThan(4_000);
    const { "x-death": death, "x-first-death-queue": _q, ...headers } = arrival!.message.headers;
    expect(headers).toMatchObject(message.headers);
    expect(death).toBeDefined();
    expect(Buffer.from(arrival!.message.body).equals(Buffer.from(message.body))).toBe(true);
    expect(arrival!.message.properties).toMatchObject({ correlation_id: message.headers.id, priority: 0 });
  });

  it("delivers at once when deliverAt is now or past", async () => {
    const queue = queues[1]!;
    const arrivals = await collect(queue);
    const message = buildTaskMessage(
      { id: crypto.randomUUID(), task: "tasks.now", args: [], kwargs: {} },
      jsonSerializer,
    );
    const sentAt = Date.now();
    await broker.publish(
      message,
      { exchange: "", routingKey: queue },
      { deliverAt: new Date(sentAt - 5_000) },
    );
    await until(arrivals, 1, 2_000);
    expect(arrivals).toHaveLength(1);
    expect(arrivals[0]!.at - sentAt).toBeLessThan(500);
    expect(arrivals[0]!.message.headers["x-death"]).toBeUndefined();
  });
});
