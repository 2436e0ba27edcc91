/**
 * `publish` with `deliverAt`: Celery's native delayed delivery (the `celery_delayed_*` levels of
 * src/delayed-delivery.ts) on the real RabbitMQ, for the default exchange and a declared topic
 * exchange, and the fallbacks (a fanout exchange, a time already past) that publish at once.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { DELAYED_DELIVERY_EXCHANGE } from "../src/delayed-delivery.js";
import { RawAmqp, rabbitmqctl, uniqueName } from "./support/amqp-server.js";
import { BrokerPool, collector, idOf, taskMessage, until } from "./support/broker-fixtures.js";

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

// Delays are whole seconds on the wire, rounded up; timers and clocks may differ by a little.
const TOLERANCE_MS = 50;

describe("deliverAt", () => {
  it("holds a message published to the default exchange until deliverAt, intact, bound like Celery's", async () => {
    const queue = name("later");
    const broker = await pool.make();
    const seen = collector((delivery) => delivery.ack());
    await broker.consume([queue], seen.handler, { prefetch: 4 });
    const arrivals = new Map<string, number>();
    const sent = taskMessage("later-1", { priority: 3, reply_to: "r" });
    sent.headers = { ...sent.headers, x_list: [1, null, { a: [] }] };
    const deliverAt = new Date(Date.now() + 1_200);
    await broker.publish(sent, { exchange: "", routingKey: queue }, { deliverAt });
    await broker.publish(taskMessage("now-1"), { exchange: "", routingKey: queue });
    await until(() => {
      for (const delivery of seen.deliveries)
        if (!arrivals.has(idOf(delivery))) arrivals.set(idOf(delivery), Date.now());
      return seen.deliveries.length === 2;
    }, "both messages");
    expect(seen.deliveries.map(idOf)).toEqual(["now-1", "later-1"]);
    expect(arrivals.get("later-1")).toBeGreaterThanOrEqual(deliverAt.getTime() - TOLERANCE_MS);
    const { message, redelivered } = seen.deliveries[1]!;
    expect(redelivered).toBe(false);
    expect(message.headers).toMatchObject(sent.headers);
    expect(message.properties).toMatchObject(sent.properties);
    expect([...message.body]).toEqual([...sent.body]);
    const bindings = await rabbitmqctl("list_bindings", "source_name", "destination_name", "routing_key");
    expect(bindings).toContainEqual([DELAYED_DELIVERY_EXCHANGE, queue, `#.${queue}`]);
  });

  it("delays through a declared topic exchange to every queue its binding keys match", async () => {
    const [exchange, urgent, all, other] = [name("topic"), name("urgent"), name("all"), name("other")];
    const broker = await pool.make();
    await broker.declareQueues([
      { name: urgent, exchange, exchangeType: "topic", routingKey: "*.urgent" },
      { name: all, exchange, exchangeType: "topic", routingKey: "task.#" },
      { name: other, exchange, exchangeType: "topic", routingKey: "other.#" },
    ]);
    const deliverAt = new Date(Date.now() + 900);
    await broker.publish(taskMessage("topic-1"), { exchange, routingKey: "task.urgent" }, { deliverAt });
    expect(await raw.readyCount(urgent)).toBe(0);
    await until(
      async () => (await raw.readyCount(urgent)) === 1 && (await raw.readyCount(all)) === 1,
      "the delayed message in both matching queues",
    );
    expect(Date.now()).toBeGreaterThanOrEqual(deliverAt.getTime() - TOLERANCE_MS);
    expect(await raw.readyCount(other)).toBe(0);
  });

  it("publishes at once to a fanout exchange or when deliverAt has passed (the worker waits for the ETA)", async () => {
    const [fanout, queue, past] = [name("fanout"), name("fan-q"), name("past")];
    const broker = await pool.make();
    await broker.declareQueues([{ name: queue, exchange: fanout, exchangeType: "fanout", routingKey: "" }]);
    const soon = new Date(Date.now() + 60_000);
    await broker.publish(taskMessage("fan-1"), { exchange: fanout, routingKey: "" }, { deliverAt: soon });
    await broker.publish(
      taskMessage("past-1"),
      { exchange: "", routingKey: past },
      {
        deliverAt: new Date(Date.now() - 1_000),
      },
    );
    expect(await raw.readyCount(queue)).toBe(1);
    expect(await raw.readyCount(past)).toBe(1);
  });
});
