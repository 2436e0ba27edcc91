import { afterEach, describe, expect, it } from "vitest";
import { type App, createApp } from "../src/app.js";
import { TqError } from "../src/errors.js";
import { jsonSerializer } from "../src/json-serializer.js";
import type { LogAttributes, Logger } from "../src/logger.js";
import { MemoryBackend, MemoryBroker, MemoryServer } from "../src/memory/index.js";
import { parseTaskMessage } from "../src/message/parse.js";
import type { TaskMessage } from "../src/message/types.js";
import type { BeforeTaskPublishPayload } from "../src/signal-payloads.js";
import { Signals } from "../src/signals.js";

interface Line {
  message: string;
  attributes: LogAttributes;
}
function recorder(): Logger & { errors: Line[] } {
  const errors: Line[] = [];
  const noop = (): void => {};
  return {
    errors,
    error: (message, attributes = {}) => errors.push({ message, attributes }),
    warn: noop,
    info: noop,
    debug: noop,
  };
}

interface TestSignals {
  ping: { n: number };
  pong: { text: string };
}

const apps: App[] = [];
function makeApp(logger?: Logger) {
  const server = new MemoryServer();
  const broker = new MemoryBroker({ server });
  const app = createApp({
    broker,
    resultBackend: new MemoryBackend(),
    env: false,
    ...(logger ? { logger } : {}),
  });
  apps.push(app);
  return { app, broker };
}

function nextMessage(broker: MemoryBroker, queue: string): Promise<TaskMessage> {
  return new Promise((resolve) => {
    void broker.consume(
      [queue],
      async (delivery) => {
        resolve(parseTaskMessage(delivery.message, [jsonSerializer]));
        await delivery.ack();
      },
      { prefetch: 1 },
    );
  });
}

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

describe("Signals", () => {
  it("calls handlers in order, disconnects them, and runs `once` handlers once", () => {
    const signals = new Signals<TestSignals>(["ping", "pong"], recorder());
    const seen: string[] = [];
    const offA = signals.on("ping", ({ n }) => void seen.push(`a${n}`));
    signals.on("ping", ({ n }) => void seen.push(`b${n}`));
    signals.once("ping", ({ n }) => void seen.push(`once${n}`));
    expect(signals.has("ping")).toBe(true);
    expect(signals.has("pong")).toBe(false);
    expect(signals.size).toBe(3);
    signals.emit("ping", { n: 1 });
    offA();
    offA(); // a second call does nothing
    signals.emit("ping", { n: 2 });
    expect(seen).toEqual(["a1", "b1", "once1", "b2"]);
    expect(signals.size).toBe(1);
  });

  it("off() disconnects a handler; the last one gone, has() is false", () => {
    const signals = new Signals<TestSignals>(["ping", "pong"], recorder());
    const handler = (): void => {};
    signals.on("pong", handler);
    signals.off("pong", handler);
    expect(signals.has("pong")).toBe(false);
    expect(signals.size).toBe(0);
  });

  it("logs a handler that throws or rejects, and runs the others", async () => {
    const logger = recorder();
    const signals = new Signals<TestSignals>(["ping", "pong"], logger);
    const seen: number[] = [];
    signals.on("ping", () => {
      throw new Error("boom");
    });
    signals.on("ping", async () => {
      throw new Error("async boom");
    });
    signals.on("ping", ({ n }) => void seen.push(n));
    expect(() => signals.emit("ping", { n: 7 })).not.toThrow();
    expect(seen).toEqual([7]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(logger.errors.map((line) => (line.attributes.error as Error).message)).toEqual([
      "boom",
      "async boom",
    ]);
    expect(logger.errors[0]?.attributes["tq.signal"]).toBe("ping");
  });

  it("logs on the sender's logger when it names one", () => {
    const own = recorder();
    const sender = recorder();
    const signals = new Signals<TestSignals>(["ping", "pong"], own);
    signals.on("ping", () => {
      throw new Error("x");
    });
    signals.emit("ping", { n: 1 }, sender);
    expect(own.errors).toHaveLength(0);
    expect(sender.errors).toHaveLength(1);
  });

  it("refuses unknown signal names and handlers that are not functions", () => {
    const signals = new Signals<TestSignals>(["ping", "pong"], recorder());
    expect(() => signals.on("pnig" as "ping", () => {})).toThrow(
      expect.objectContaining({ code: "TQ_CONFIG", message: expect.stringContaining('"pnig"') }),
    );
    expect(() => signals.on("ping", 42 as unknown as () => void)).toThrow(TqError);
  });
});

describe("publish signals", () => {
  it("sends beforeTaskPublish and afterTaskPublish; a handler may add and change headers", async () => {
    const { app, broker } = makeApp();
    const add = app.task("tasks.add", (x: number, y: number) => x + y);
    const order: string[] = [];
    let before: BeforeTaskPublishPayload | undefined;
    app.signals.on("beforeTaskPublish", (payload) => {
      order.push("before");
      before = payload;
      payload.headers["x-trace-id"] = "trace-1";
      payload.headers.custom = "changed";
    });
    app.signals.on("afterTaskPublish", ({ taskId, headers, routingKey }) => {
      order.push(`after ${taskId === result.id} ${headers["x-trace-id"]} ${routingKey}`);
    });
    const received = nextMessage(broker, "celery");
    const result = add.applyAsync([1, 2], {}, { headers: { custom: "original" } });
    await result.sent;
    const message = await received;
    expect(order).toEqual(["before", "after true trace-1 celery"]);
    expect(before).toMatchObject({
      taskId: result.id,
      taskName: "tasks.add",
      args: [1, 2],
      kwargs: {},
      exchange: "",
      routingKey: "celery",
    });
    expect(before?.headers.task).toBe("tasks.add");
    expect(before?.properties.correlation_id).toBe(result.id);
    expect(message.headers["x-trace-id"]).toBe("trace-1");
    expect(message.headers.custom).toBe("changed");
  });

  it("a failing publish handler is logged and the task is still sent", async () => {
    const logger = recorder();
    const { app, broker } = makeApp(logger);
    app.signals.on("beforeTaskPublish", () => {
      throw new Error("handler bug");
    });
    const received = nextMessage(broker, "celery");
    await app.sendTask("remote.task", [1]).sent;
    expect((await received).task).toBe("remote.task");
    expect(logger.errors[0]?.message).toContain('"beforeTaskPublish" signal handler failed');
  });
});
