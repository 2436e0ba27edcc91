import { TqError } from "@tq/core";
import { expect } from "vitest";
import type { DefineBrokerTest } from "./broker-suite.js";
import { idOf, richMessage, taskMessage } from "./messages.js";
import { sleep } from "./wait.js";

const direct = (queue: string) => ({ exchange: "", routingKey: queue });

/** Round trips, settling, counting and cancelling. */
export function registerBasicBrokerTests(test: DefineBrokerTest): void {
  test("publishes and consumes a message with headers, properties, content type and body intact", async (h) => {
    const queue = h.name("roundtrip");
    const broker = await h.broker();
    const sent = richMessage("roundtrip-1");
    await broker.publish(sent, direct(queue));
    const collector = h.collector((delivery) => delivery.ack());
    await broker.consume([queue], collector.handler, { prefetch: 1 });
    const [delivery] = await collector.next(1);
    const received = delivery!.message;
    expect(delivery!.queue).toBe(queue);
    expect(delivery!.redelivered).toBe(false);
    // Brokers may add headers and properties of their own; what was sent must come back exactly.
    expect(received.headers).toEqual(expect.objectContaining(sent.headers));
    expect(received.properties).toEqual(expect.objectContaining(sent.properties));
    expect(received.contentType).toBe(sent.contentType);
    expect(received.contentEncoding).toBe(sent.contentEncoding);
    expect(received.body).toBeInstanceOf(Uint8Array);
    expect([...received.body]).toEqual([...sent.body]);
  });

  test("keeps what it was given: changing the published object afterwards changes nothing", async (h) => {
    const queue = h.name("copy");
    const broker = await h.broker();
    const sent = taskMessage("copy-1");
    await broker.publish(sent, direct(queue));
    sent.headers.id = "changed";
    sent.body.fill(0);
    const collector = h.collector((delivery) => delivery.ack());
    await broker.consume([queue], collector.handler, { prefetch: 1 });
    const [delivery] = await collector.next(1);
    expect(delivery!.message.headers.id).toBe("copy-1");
    expect(delivery!.message.body).toEqual(taskMessage("copy-1").body);
  });

  test("ack removes a message for good", async (h) => {
    const queue = h.name("ack");
    const broker = await h.broker();
    await broker.publish(taskMessage("ack-1"), direct(queue));
    const collector = h.collector();
    const consumer = await broker.consume([queue], collector.handler, { prefetch: 1 });
    const [delivery] = await collector.next(1);
    await h.expectCounts(broker, queue, 0, 1);
    await delivery!.ack();
    await h.expectCounts(broker, queue, 0, 0);
    await consumer.cancel();
    await h.close(broker);
    const other = await h.broker();
    const late = h.collector();
    await other.consume([queue], late.handler, { prefetch: 1 });
    await sleep(h.options.quietPeriodMs);
    expect(late.deliveries).toHaveLength(0);
  });

  test("reject drops a message", async (h) => {
    const queue = h.name("reject");
    const broker = await h.broker();
    await broker.publish(taskMessage("reject-1"), direct(queue));
    await broker.publish(taskMessage("reject-2"), direct(queue));
    const collector = h.collector((delivery) =>
      idOf(delivery) === "reject-1" ? delivery.reject() : delivery.ack(),
    );
    await broker.consume([queue], collector.handler, { prefetch: 1 });
    await collector.next(2);
    await sleep(h.options.quietPeriodMs);
    expect(collector.deliveries.map(idOf)).toEqual(["reject-1", "reject-2"]);
    await h.expectCounts(broker, queue, 0, 0);
  });

  test("requeue delivers the message again, marked redelivered", async (h) => {
    const queue = h.name("requeue");
    const broker = await h.broker();
    await broker.publish(richMessage("requeue-1"), direct(queue));
    const collector = h.collector((delivery) => (delivery.redelivered ? delivery.ack() : delivery.requeue()));
    await broker.consume([queue], collector.handler, { prefetch: 1 });
    const [first, second] = await collector.next(2);
    expect(first!.redelivered).toBe(false);
    expect(second!.redelivered).toBe(true);
    expect(second!.message.headers).toEqual(first!.message.headers);
    expect([...second!.message.body]).toEqual([...first!.message.body]);
    await h.expectCounts(broker, queue, 0, 0);
  });

  test("queueLength counts the ready messages, not those held by consumers", async (h) => {
    const queue = h.name("length");
    const broker = await h.broker();
    expect(await broker.queueLength(queue)).toBe(0);
    for (let i = 0; i < 3; i++) await broker.publish(taskMessage(`length-${i}`), direct(queue));
    expect(await broker.queueLength(queue)).toBe(3);
    const collector = h.collector();
    await broker.consume([queue], collector.handler, { prefetch: 1 });
    await collector.next(1);
    await h.expectCounts(broker, queue, 2, 1);
    expect(await broker.queueLength(queue)).toBe(2);
  });

  test("purge deletes the ready messages and returns how many", async (h) => {
    const queue = h.name("purge");
    const other = h.name("purge-other");
    const broker = await h.broker();
    for (let i = 0; i < 4; i++) await broker.publish(taskMessage(`purge-${i}`), direct(queue));
    await broker.publish(taskMessage("purge-other"), direct(other));
    expect(await broker.purge(queue)).toBe(4);
    await h.expectCounts(broker, queue, 0);
    expect(await broker.queueLength(queue)).toBe(0);
    expect(await broker.queueLength(other)).toBe(1);
    expect(await broker.purge(queue)).toBe(0);
  });

  test("one consumer receives from several queues, each delivery naming its queue", async (h) => {
    const [a, b] = [h.name("multi-a"), h.name("multi-b")];
    const broker = await h.broker();
    await broker.publish(taskMessage("multi-a"), direct(a));
    await broker.publish(taskMessage("multi-b"), direct(b));
    const collector = h.collector((delivery) => delivery.ack());
    await broker.consume([a, b], collector.handler, { prefetch: 2 });
    const deliveries = await collector.next(2);
    const byId = Object.fromEntries(deliveries.map((d) => [idOf(d), d.queue]));
    expect(byId).toEqual({ "multi-a": a, "multi-b": b });
  });

  test("a cancelled consumer gets nothing new, and its deliveries can still be settled", async (h) => {
    const queue = h.name("cancel");
    const broker = await h.broker();
    await broker.publish(taskMessage("cancel-1"), direct(queue));
    const collector = h.collector();
    const consumer = await broker.consume([queue], collector.handler, { prefetch: 5 });
    const [held] = await collector.next(1);
    await consumer.cancel();
    await broker.publish(taskMessage("cancel-2"), direct(queue));
    await sleep(h.options.quietPeriodMs);
    expect(collector.deliveries.map(idOf)).toEqual(["cancel-1"]);
    await held!.ack();
    await h.expectCounts(broker, queue, 1, 0);
    const next = h.collector((delivery) => delivery.ack());
    await broker.consume([queue], next.handler, { prefetch: 1 });
    expect((await next.next(1)).map(idOf)).toEqual(["cancel-2"]);
  });

  test("publish after close rejects with TQ_CLOSED", async (h) => {
    const broker = await h.broker();
    await h.close(broker);
    const error = await broker
      .publish(taskMessage("closed-1"), direct(h.name("closed")))
      .catch((e: unknown) => e);
    expect(TqError.is(error, "TQ_CLOSED")).toBe(true);
  });
}
