import type { Broker, Delivery } from "@tq/core";
import { expect } from "vitest";
import type { DefineBrokerTest } from "./broker-suite.js";
import { firstDifference, idOf, pseudoRandomBytes, taskMessage, UNICODE_TEXT } from "./messages.js";
import { eventually, sleep } from "./wait.js";

const direct = (queue: string) => ({ exchange: "", routingKey: queue });

async function publishMany(broker: Broker, queue: string, prefix: string, count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  for (const id of ids) await broker.publish(taskMessage(id), direct(queue));
  return ids;
}

/** Prefetch, redelivery when a worker goes away, concurrency, failures and big payloads. */
export function registerDeliveryBrokerTests(test: DefineBrokerTest): void {
  test("redelivers unacknowledged messages to another instance when a broker instance closes", async (h) => {
    const queue = h.name("gone");
    const [worker, survivor] = [await h.broker(), await h.broker()];
    await worker.publish(taskMessage("gone-1"), direct(queue));
    const held = h.collector();
    await worker.consume([queue], held.handler, { prefetch: 1 });
    await held.next(1);
    await h.close(worker);
    const collector = h.collector((delivery) => delivery.ack());
    await survivor.consume([queue], collector.handler, { prefetch: 1 });
    const [again] = await collector.next(1);
    expect(idOf(again!)).toBe("gone-1");
    expect(again!.redelivered).toBe(true);
  });

  test("holds at most `prefetch` unsettled deliveries per consumer", async (h) => {
    const queue = h.name("prefetch");
    const broker = await h.broker();
    await publishMany(broker, queue, "prefetch", 5);
    const collector = h.collector();
    await broker.consume([queue], collector.handler, { prefetch: 2 });
    const [first] = await collector.next(2);
    await sleep(h.options.quietPeriodMs);
    expect(collector.deliveries).toHaveLength(2);
    await h.expectCounts(broker, queue, 3, 2);
    await first!.ack();
    await collector.next(3);
    await sleep(h.options.quietPeriodMs);
    expect(collector.deliveries).toHaveLength(3);
    await h.expectCounts(broker, queue, 2, 2);
  });

  test("delivers each message exactly once across concurrent consumers of several instances", async (h) => {
    const queue = h.name("fanin");
    const publisher = await h.broker();
    const counts = new Map<string, number>();
    let received = 0;
    for (let i = 0; i < 4; i++) {
      const broker = await h.broker();
      const collector = h.collector(async (delivery) => {
        counts.set(idOf(delivery), (counts.get(idOf(delivery)) ?? 0) + 1);
        received++;
        await delivery.ack();
      });
      await broker.consume([queue], collector.handler, { prefetch: 10 });
    }
    // Half are waiting before the consumers compete for them, half arrive while they consume.
    const ids = await publishMany(publisher, queue, "fanin-early", 100);
    ids.push(...(await publishMany(publisher, queue, "fanin-late", 100)));
    await eventually(
      () => received >= ids.length,
      h.options.timeoutMs * 2,
      () => `${ids.length} deliveries (got ${received})`,
    );
    await sleep(h.options.quietPeriodMs);
    expect(received).toBe(ids.length);
    expect(ids.filter((id) => counts.get(id) !== 1)).toEqual([]);
    await h.expectCounts(publisher, queue, 0, 0);
  });

  test("closing a broker while it consumes neither throws nor loses messages", async (h) => {
    const queue = h.name("closing");
    const publisher = await h.broker();
    const ids = await publishMany(publisher, queue, "closing", 10);
    const worker = await h.broker();
    const held = h.collector();
    await worker.consume([queue], held.handler, { prefetch: 3 });
    const [acked, ...unsettled] = await held.next(3);
    await acked!.ack();
    await expect(h.close(worker)).resolves.toBeUndefined();

    const survivor = await h.broker();
    const collector = h.collector((delivery) => delivery.ack());
    await survivor.consume([queue], collector.handler, { prefetch: 10 });
    await collector.next(ids.length - 1);
    await sleep(h.options.quietPeriodMs);
    const seen = collector.deliveries.map(idOf);
    expect([...seen].sort()).toEqual(ids.filter((id) => id !== idOf(acked!)).sort());
    for (const delivery of unsettled) {
      const again = collector.deliveries.find((d) => idOf(d) === idOf(delivery));
      expect(again?.redelivered, `${idOf(delivery)} is marked redelivered`).toBe(true);
    }
  });

  test("a handler that throws does not stop its consumer", async (h) => {
    const queue = h.name("throws");
    const broker = await h.broker();
    const collector = h.collector(async (delivery: Delivery) => {
      await delivery.ack();
      if (idOf(delivery) === "throws-0") throw new Error("conformance: a handler failing on purpose");
    });
    const syncThrower = h.collector((delivery) => {
      void delivery.ack();
      throw new Error("conformance: a handler failing synchronously on purpose");
    });
    const syncQueue = h.name("throws-sync");
    await broker.consume([queue], collector.handler, { prefetch: 1 });
    await broker.consume([syncQueue], syncThrower.handler, { prefetch: 1 });
    await publishMany(broker, queue, "throws", 3);
    await publishMany(broker, syncQueue, "sync", 2);
    expect((await collector.next(3)).map(idOf)).toEqual(["throws-0", "throws-1", "throws-2"]);
    expect((await syncThrower.next(2)).map(idOf)).toEqual(["sync-0", "sync-1"]);
  });

  test("carries a 1 MiB body and unicode headers and bodies byte-exact", async (h) => {
    const queue = h.name("big");
    const broker = await h.broker();
    const big = {
      ...taskMessage("big-1"),
      contentType: "application/octet-stream",
      contentEncoding: "binary",
    };
    big.body = pseudoRandomBytes(1024 * 1024);
    const text = { ...taskMessage("unicode-1"), contentEncoding: "utf-8" };
    text.headers = { ...text.headers, argsrepr: `('${UNICODE_TEXT}',)`, x_text: UNICODE_TEXT };
    text.body = new TextEncoder().encode(JSON.stringify([[UNICODE_TEXT], { 键: "值" }, {}]));
    await broker.publish(big, direct(queue));
    await broker.publish(text, direct(queue));
    const collector = h.collector((delivery) => delivery.ack());
    await broker.consume([queue], collector.handler, { prefetch: 2 });
    const deliveries = await collector.next(2);
    const receivedBig = deliveries.find((d) => idOf(d) === "big-1")!.message;
    const receivedText = deliveries.find((d) => idOf(d) === "unicode-1")!.message;
    expect(firstDifference(receivedBig.body, big.body)).toBeNull();
    expect(firstDifference(receivedText.body, text.body)).toBeNull();
    expect(receivedText.headers.x_text).toBe(UNICODE_TEXT);
    expect(receivedText.headers.argsrepr).toBe(text.headers.argsrepr);
  });
}
