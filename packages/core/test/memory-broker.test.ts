import { afterEach, describe, expect, it, vi } from "vitest";
import type { Delivery } from "../src/broker.js";
import { TqError } from "../src/errors.js";
import type { Logger } from "../src/logger.js";
import { MemoryBroker, MemoryServer, memoryBroker } from "../src/memory/index.js";
import type { TransportMessage } from "../src/message/types.js";

const brokers: MemoryBroker[] = [];
function makeBroker(server = new MemoryServer(), logger?: Logger): MemoryBroker {
  const broker = memoryBroker({ server, logger });
  brokers.push(broker);
  return broker;
}

function message(id: string, priority?: number): TransportMessage {
  return {
    headers: { id },
    properties: priority === undefined ? {} : { priority },
    contentType: "application/json",
    contentEncoding: "utf-8",
    body: new TextEncoder().encode(JSON.stringify(id)),
  };
}

/** Collects deliveries of a queue; `next(n)` resolves with the first n. */
async function collect(broker: MemoryBroker, queue: string, prefetch = 100) {
  const deliveries: Delivery[] = [];
  let wake: () => void = () => {};
  const consumer = await broker.consume(
    [queue],
    (delivery) => {
      deliveries.push(delivery);
      wake();
    },
    { prefetch },
  );
  const next = async (count: number): Promise<Delivery[]> => {
    while (deliveries.length < count) await new Promise<void>((resolve) => (wake = resolve));
    return deliveries.slice(0, count);
  };
  return { deliveries, next, consumer };
}

const ids = (deliveries: readonly Delivery[]) => deliveries.map((d) => d.message.headers.id);
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(brokers.splice(0).map((broker) => broker.close()));
});

describe("memory broker", () => {
  it("never calls a handler inside publish", async () => {
    const broker = makeBroker();
    const seen: string[] = [];
    await broker.consume(["q"], () => void seen.push("handler"), { prefetch: 1 });
    await broker.publish(message("a"), { exchange: "", routingKey: "q" });
    seen.push("published");
    await turn();
    await turn();
    expect(seen).toEqual(["published", "handler"]);
  });

  it("copies messages on publish and on delivery", async () => {
    const broker = makeBroker();
    const original = message("a");
    await broker.publish(original, { exchange: "", routingKey: "q" });
    original.headers.id = "changed";
    original.body[0] = 0;
    const { next } = await collect(broker, "q");
    const [first] = await next(1);
    expect(first!.message.headers.id).toBe("a");
    expect(first!.message.body[0]).toBe(34); // the '"' of the JSON string
    first!.message.headers.id = "mutated by the consumer";
    await first!.requeue();
    const [, second] = await next(2);
    expect(second!.message.headers.id).toBe("a");
    expect(second!.redelivered).toBe(true);
  });

  it("rejects a message it cannot copy with TQ_SERIALIZATION", async () => {
    const broker = makeBroker();
    const bad = { ...message("a"), headers: { fn: () => 1 } };
    await expect(broker.publish(bad, { exchange: "", routingKey: "q" })).rejects.toMatchObject({
      code: "TQ_SERIALIZATION",
    });
  });

  it("serves higher priorities first, FIFO within one, clamped to the declared maxPriority", async () => {
    const broker = makeBroker();
    await broker.declareQueues([{ name: "p", maxPriority: 5, exchange: "" }]);
    for (const [id, priority] of [
      ["a", 1],
      ["c", 5],
      ["b", 9],
      ["d", undefined],
      ["e", 1],
    ] as const) {
      await broker.publish(message(id, priority), { exchange: "", routingKey: "p" });
    }
    const { next } = await collect(broker, "p");
    // b's 9 counts as 5, so it ties with c, which came first.
    expect(ids(await next(5))).toEqual(["c", "b", "a", "e", "d"]);
  });

  it("deals messages round-robin among the consumers of a queue", async () => {
    const server = new MemoryServer();
    const [one, two] = [
      await collect(makeBroker(server), "q", 10),
      await collect(makeBroker(server), "q", 10),
    ];
    const publisher = makeBroker(server);
    for (const id of ["a", "b", "c", "d"])
      await publisher.publish(message(id), { exchange: "", routingKey: "q" });
    await vi.waitFor(() => expect(one.deliveries.length + two.deliveries.length).toBe(4));
    expect(ids(one.deliveries)).toEqual(["a", "c"]);
    expect(ids(two.deliveries)).toEqual(["b", "d"]);
  });

  it("puts a requeued message back ahead of later ones", async () => {
    const broker = makeBroker();
    for (const id of ["a", "b", "c"]) await broker.publish(message(id), { exchange: "", routingKey: "q" });
    const { next } = await collect(broker, "q", 1);
    const [a] = await next(1);
    await a!.requeue();
    const [, again] = await next(2);
    expect(again!.message.headers.id).toBe("a");
    expect(again!.redelivered).toBe(true);
  });

  it("routes through direct, topic and fanout exchanges and drops unroutable messages", async () => {
    const debug = vi.fn();
    const broker = makeBroker(new MemoryServer(), { error: vi.fn(), warn: vi.fn(), info: vi.fn(), debug });
    await broker.declareQueues([
      { name: "images" }, // exchange "images", direct, key "images"
      { name: "eu", exchange: "events", exchangeType: "topic", routingKey: "task.*.eu" },
      { name: "all", exchange: "events", exchangeType: "topic", routingKey: "task.#" },
      { name: "f1", exchange: "fan", exchangeType: "fanout" },
      { name: "f2", exchange: "fan", exchangeType: "fanout" },
    ]);
    await broker.publish(message("1"), { exchange: "images", routingKey: "images" });
    await broker.publish(message("2"), { exchange: "images", routingKey: "other" });
    await broker.publish(message("3"), { exchange: "events", routingKey: "task.started.eu" });
    await broker.publish(message("4"), { exchange: "events", routingKey: "task" });
    await broker.publish(message("5"), { exchange: "events", routingKey: "worker.online" });
    await broker.publish(message("6"), { exchange: "fan", routingKey: "anything" });
    await broker.publish(message("7"), { exchange: "nowhere", routingKey: "x" });
    const lengths = await Promise.all(["images", "eu", "all", "f1", "f2"].map((q) => broker.queueLength(q)));
    expect(lengths).toEqual([1, 1, 2, 1, 1]);
    expect(debug).toHaveBeenCalledTimes(3);
    expect(await broker.queueLength("other")).toBe(0);
  });

  it("refuses to redeclare an exchange with another type", async () => {
    const broker = makeBroker();
    await broker.declareQueues([{ name: "a", exchange: "x", exchangeType: "topic" }]);
    await expect(broker.declareQueues([{ name: "b", exchange: "x" }])).rejects.toMatchObject({
      code: "TQ_CONFIG",
    });
  });

  it("settles a delivery once", async () => {
    const broker = makeBroker();
    await broker.publish(message("a"), { exchange: "", routingKey: "q" });
    const [delivery] = await (await collect(broker, "q")).next(1);
    await delivery!.ack();
    const second = await delivery!.reject().catch((error: unknown) => error);
    expect(TqError.is(second, "TQ_DELIVERY_SETTLED")).toBe(true);
  });

  it("keeps a cancelled consumer's deliveries settle-able and requeues them when its broker closes", async () => {
    const server = new MemoryServer();
    const broker = makeBroker(server);
    for (const id of ["a", "b"]) await broker.publish(message(id), { exchange: "", routingKey: "q" });
    const { next, consumer } = await collect(broker, "q");
    const [a, b] = await next(2);
    await consumer.cancel();
    await a!.ack();
    expect(server.inFlightCount("q")).toBe(1);
    await broker.close();
    expect(server.readyCount("q")).toBe(1);
    expect(server.inFlightCount("q")).toBe(0);
    await expect(b!.ack()).rejects.toMatchObject({ code: "TQ_CLOSED" });
    await expect(broker.publish(message("c"), { exchange: "", routingKey: "q" })).rejects.toMatchObject({
      code: "TQ_CLOSED",
    });
  });

  it("cancels a consumer through its signal", async () => {
    const server = new MemoryServer();
    const broker = makeBroker(server);
    const controller = new AbortController();
    const handler = vi.fn();
    await broker.consume(["q"], handler, { prefetch: 1, signal: controller.signal });
    controller.abort();
    await broker.publish(message("a"), { exchange: "", routingKey: "q" });
    await turn();
    expect(handler).not.toHaveBeenCalled();
    expect(server.readyCount("q")).toBe(1);
  });

  it("validates consume options", async () => {
    const broker = makeBroker();
    await expect(broker.consume(["q"], () => {}, { prefetch: 0 })).rejects.toMatchObject({
      code: "TQ_CONFIG",
    });
    await expect(broker.consume([], () => {}, { prefetch: 1 })).rejects.toMatchObject({ code: "TQ_CONFIG" });
    await expect(
      broker.consume(["q"], () => {}, { prefetch: 1, signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ code: "TQ_ABORTED" });
  });

  it("logs what a handler throws, synchronously or not, and keeps delivering", async () => {
    const error = vi.fn();
    const broker = makeBroker(new MemoryServer(), { error, warn: vi.fn(), info: vi.fn(), debug: vi.fn() });
    const seen: string[] = [];
    await broker.consume(
      ["q"],
      (delivery) => {
        seen.push(String(delivery.message.headers.id));
        void delivery.ack();
        if (seen.length === 1) throw new Error("sync");
        return Promise.reject(new Error("async"));
      },
      { prefetch: 1 },
    );
    for (const id of ["a", "b", "c"]) await broker.publish(message(id), { exchange: "", routingKey: "q" });
    await vi.waitFor(() => expect(error).toHaveBeenCalledTimes(3));
    expect(seen).toEqual(["a", "b", "c"]);
    expect(error.mock.calls[0]![1]).toMatchObject({ "tq.queue": "q" });
  });

  it("holds a delayed message until deliverAt, even beyond setTimeout's limit", async () => {
    vi.useFakeTimers({ now: 0 });
    const server = new MemoryServer();
    const broker = makeBroker(server);
    await broker.publish(message("soon"), { exchange: "", routingKey: "q" }, { deliverAt: new Date(1_000) });
    const later = 30 * 86_400_000; // 30 days: more than 2^31 - 1 ms
    await broker.publish(message("later"), { exchange: "", routingKey: "q" }, { deliverAt: new Date(later) });
    await broker.publish(message("past"), { exchange: "", routingKey: "q" }, { deliverAt: new Date(-5) });
    expect(server.readyCount("q")).toBe(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(server.readyCount("q")).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(server.readyCount("q")).toBe(2);
    await vi.advanceTimersByTimeAsync(2 ** 31);
    expect(server.readyCount("q")).toBe(2);
    await vi.advanceTimersByTimeAsync(later - 1_000 - 2 ** 31);
    expect(server.readyCount("q")).toBe(3);
  });

  it("broadcasts to subscribers on every broker of the server, not after they cancel", async () => {
    const server = new MemoryServer();
    const [a, b] = [makeBroker(server), makeBroker(server)];
    const gotA = vi.fn();
    const gotB = vi.fn();
    await a.subscribeBroadcast("control", gotA);
    const subB = await b.subscribeBroadcast("control", gotB);
    await a.broadcast("control", message("ping"));
    await subB.cancel();
    await vi.waitFor(() => expect(gotA).toHaveBeenCalledTimes(1));
    expect(gotB).not.toHaveBeenCalled();
    await expect(a.broadcast("", message("x"))).rejects.toMatchObject({ code: "TQ_CONFIG" });
  });
});

describe("memory server", () => {
  it("shares one server per memory:// host", async () => {
    const host = `memory://t${Math.random().toString(36).slice(2)}`;
    const one = new MemoryBroker({ url: host });
    const two = new MemoryBroker({ url: `${host}/` });
    brokers.push(one, two);
    expect(one.server).toBe(two.server);
    expect(one.server).toBe(MemoryServer.forUrl(host.toUpperCase().replace("MEMORY", "memory")));
    expect(new MemoryBroker().server).toBe(MemoryServer.forUrl("memory://"));
    expect(MemoryServer.forUrl("memory://elsewhere")).not.toBe(one.server);
    await one.publish(message("a"), { exchange: "", routingKey: "shared" });
    expect(await two.queueLength("shared")).toBe(1);
    expect(one.server.queueNames()).toEqual(["shared"]);
  });

  it("rejects URLs that are not memory:// with TQ_CONFIG", () => {
    expect(() => MemoryServer.forUrl("redis://localhost")).toThrow(
      expect.objectContaining({ code: "TQ_CONFIG" }),
    );
    expect(() => new MemoryBroker({ url: "not a url" })).toThrow(
      expect.objectContaining({ code: "TQ_CONFIG" }),
    );
  });

  it("probes ready and in-flight counts per queue", async () => {
    const server = new MemoryServer();
    const broker = makeBroker(server);
    for (const id of ["a", "b", "c"]) await broker.publish(message(id), { exchange: "", routingKey: "q" });
    expect([server.readyCount("q"), server.inFlightCount("q")]).toEqual([3, 0]);
    const { next } = await collect(broker, "q", 2);
    const [a] = await next(2);
    expect([server.readyCount("q"), server.inFlightCount("q")]).toEqual([1, 2]);
    await a!.reject();
    await next(3);
    expect([server.readyCount("q"), server.inFlightCount("q")]).toEqual([0, 2]);
    expect([server.readyCount("none"), server.inFlightCount("none")]).toEqual([0, 0]);
  });
});
