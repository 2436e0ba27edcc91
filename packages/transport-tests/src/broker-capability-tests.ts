import type { TransportMessage } from "@tq/core";
import { expect } from "vitest";
import type { DefineBrokerTest } from "./broker-suite.js";
import { idOf, taskMessage } from "./messages.js";
import { eventually, sleep } from "./wait.js";

const direct = (queue: string) => ({ exchange: "", routingKey: queue });

// Timers may fire a little early against Date.now(), and a server's clock may differ a little.
const CLOCK_TOLERANCE_MS = 25;

/** Optional capabilities, each tested only where the broker's `capabilities` claim it. */
export function registerCapabilityBrokerTests(test: DefineBrokerTest): void {
  test("serves messages by priority (capabilities.priorities)", async (h, context) => {
    const broker = await h.broker();
    context.skip(!broker.capabilities.priorities, "the broker does not support priorities");
    const queue = h.name("priority");
    await broker.declareQueues?.([{ name: queue, exchange: "", maxPriority: 9 }]);
    for (const [id, priority] of [
      ["low", 1],
      ["high", 9],
      ["mid", 5],
    ] as const) {
      await broker.publish(taskMessage(id, { priority }), direct(queue));
    }
    await h.expectCounts(broker, queue, 3);
    const collector = h.collector((delivery) => delivery.ack());
    await broker.consume([queue], collector.handler, { prefetch: 1 });
    const order = (await collector.next(3)).map(idOf);
    expect(order).toEqual(
      h.options.priorityOrder === "higher-first" ? ["high", "mid", "low"] : ["low", "mid", "high"],
    );
  });

  test("holds a message until deliverAt (capabilities.delayedDelivery)", async (h, context) => {
    const broker = await h.broker();
    context.skip(!broker.capabilities.delayedDelivery, "the broker does not delay messages itself");
    const queue = h.name("delayed");
    const collector = h.collector((delivery) => delivery.ack());
    await broker.consume([queue], collector.handler, { prefetch: 1 });
    const deliverAt = new Date(Date.now() + 300);
    await broker.publish(taskMessage("delayed-1"), direct(queue), { deliverAt });
    await broker.publish(taskMessage("now-1"), direct(queue));
    await collector.next(2);
    const [first, second] = collector.arrivals;
    expect([idOf(first!.delivery), idOf(second!.delivery)]).toEqual(["now-1", "delayed-1"]);
    expect(second!.at).toBeGreaterThanOrEqual(deliverAt.getTime() - CLOCK_TOLERANCE_MS);
  });

  test("broadcasts a message to every subscriber (capabilities.broadcast)", async (h, context) => {
    const [sender, one, two] = [await h.broker(), await h.broker(), await h.broker()];
    context.skip(!sender.capabilities.broadcast, "the broker does not broadcast");
    if (!sender.broadcast || !one.subscribeBroadcast || !two.subscribeBroadcast) {
      throw new Error("capabilities.broadcast is true but broadcast/subscribeBroadcast are missing");
    }
    const exchange = h.name("bcast");
    const received: Record<string, TransportMessage[]> = { one: [], two: [] };
    await one.subscribeBroadcast(exchange, (message) => void received.one!.push(message));
    await two.subscribeBroadcast(exchange, (message) => void received.two!.push(message));
    const sent = taskMessage("bcast-1");
    await sender.broadcast(exchange, sent);
    await eventually(
      () => received.one!.length > 0 && received.two!.length > 0,
      h.options.timeoutMs,
      "both subscribers to receive the broadcast",
    );
    await sleep(h.options.quietPeriodMs);
    for (const messages of Object.values(received)) {
      expect(messages).toHaveLength(1);
      expect(messages[0]!.headers).toEqual(expect.objectContaining(sent.headers));
      expect([...messages[0]!.body]).toEqual([...sent.body]);
    }
  });
}
