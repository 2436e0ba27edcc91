/**
 * The rpc:// backend connecting, and when connections drop: RabbitMQ closes them
 * (`rabbitmqctl close_connection` on connections this file named itself), the reply queue is deleted
 * under the consumer, or a connection the user lent is closed.
 */
import { TqError } from "@tq/core";
import { describe, expect, it } from "vitest";
import { RpcBackend } from "../src/rpc-backend.js";
import {
  closeConnectionsNamed,
  eventually,
  listQueue,
  queueExists,
  rawConnection,
  recordingLogger,
  settle,
  sleep,
} from "./support/rpc-amqp.js";
import { codeOf, meta, useRpcFixture } from "./support/rpc-fixtures.js";

const fx = useRpcFixture("reconnect");

describe("connecting", () => {
  it("rejects connect() with TQ_CONNECTION when RabbitMQ cannot be reached, and get/waitFor too", async () => {
    const rpc = fx.backend({ url: "amqp://guest:guest@127.0.0.1:1//", connectTimeoutMs: 2_000 });
    expect(codeOf((await settle(rpc.connect())).error)).toBe("TQ_CONNECTION");
    expect(codeOf((await settle(rpc.waitFor(fx.id("x"), { timeoutMs: 100 }))).error)).toBe("TQ_CONNECTION");
  });

  it("does no I/O in the constructor and declares the queue only on connect", async () => {
    const rpc = fx.backend();
    await sleep(100);
    expect(await queueExists(fx.raw(), rpc.replyTo)).toBe(false);
    await rpc.connect();
    await rpc.connect();
    expect(await queueExists(fx.raw(), rpc.replyTo)).toBe(true);
    await rpc.close();
    // Auto-delete: gone with the consumer.
    await eventually(
      async () => !(await queueExists(fx.raw(), rpc.replyTo)),
      5_000,
      "the reply queue going away",
    );
  });

  it("rejects a bad option with TQ_CONFIG", () => {
    expect(() => new RpcBackend({ url: "redis://localhost" })).toThrow(/scheme/);
    expect(() => new RpcBackend({ maxBufferedResults: 0 })).toThrowError(TqError);
    expect(() => new RpcBackend({ resultExpiresMs: -1 })).toThrowError(TqError);
  });

  it("warns about options it does not know", () => {
    const logger = recordingLogger();
    new RpcBackend({ logger, ...({ result_persistent: true } as object) });
    expect(logger.lines.some((line) => line.level === "warn" && /does not know/.test(line.message))).toBe(
      true,
    );
  });
});

describe("after the client's connection was closed by RabbitMQ", () => {
  it("declares the same reply queue again and delivers later results to waits in progress", async () => {
    const name = fx.id("client-conn");
    const logger = recordingLogger();
    const client = fx.backend({ connectionName: name, logger });
    const worker = fx.backend();
    await Promise.all([client.connect(), worker.connect()]);
    const taskId = fx.id("after");
    const waiting = settle(client.waitFor(taskId, { timeoutMs: 20_000 }));

    expect(await closeConnectionsNamed(name)).toBe(1);
    // Auto-delete, as Celery declares it: the queue went with the consumer, and comes back.
    await eventually(async () => (await listQueue(client.replyTo))?.consumers === 1, 15_000, "re-consume");
    // The outage is reported (by the connection manager's wording, whatever it is).
    expect(logger.lines.some((line) => line.level === "warn")).toBe(true);

    await worker.store(meta(taskId, "SUCCESS", "after"), { replyTo: client.replyTo });
    expect((await waiting).value).toMatchObject({ status: "SUCCESS", result: "after" });
  });

  it("loses results sent while its reply queue was gone (at most once, as in Celery)", async () => {
    const name = fx.id("client-gap");
    // A slow reconnect leaves a window in which the queue does not exist.
    const client = fx.backend({ connectionName: name, reconnect: { initialDelayMs: 1_500, jitter: 0 } });
    const worker = fx.backend();
    await Promise.all([client.connect(), worker.connect()]);
    const [lost, later] = [fx.id("lost"), fx.id("later")];

    await closeConnectionsNamed(name);
    await eventually(
      async () => !(await queueExists(fx.raw(), client.replyTo)),
      5_000,
      "the queue going away",
    );
    await worker.store(meta(lost, "SUCCESS", "lost"), { replyTo: client.replyTo });

    await eventually(async () => (await listQueue(client.replyTo))?.consumers === 1, 15_000, "re-consume");
    await worker.store(meta(later, "SUCCESS", "later"), { replyTo: client.replyTo });
    await client.waitFor(later, { timeoutMs: 5_000 });
    expect(await client.get(lost)).toBeNull();
  });
});

describe("after the worker's connection was closed by RabbitMQ", () => {
  it("publishes once it reconnected, within publishTimeoutMs", async () => {
    const name = fx.id("worker-conn");
    const client = fx.backend();
    const worker = fx.backend({ connectionName: name, reconnect: { initialDelayMs: 500, jitter: 0 } });
    await Promise.all([client.connect(), worker.connect()]);
    await worker.store(meta(fx.id("warm"), "SUCCESS", 0), { replyTo: client.replyTo });

    await closeConnectionsNamed(name);
    await sleep(50);
    const taskId = fx.id("w-after");
    await worker.store(meta(taskId, "SUCCESS", "sent"), { replyTo: client.replyTo });
    expect(await client.waitFor(taskId, { timeoutMs: 10_000 })).toMatchObject({ result: "sent" });
  });

  it("rejects a store with TQ_CONNECTION when it cannot publish within publishTimeoutMs", async () => {
    const name = fx.id("worker-slow");
    const client = fx.backend();
    const worker = fx.backend({
      connectionName: name,
      publishTimeoutMs: 300,
      reconnect: { initialDelayMs: 3_000, jitter: 0 },
    });
    await Promise.all([client.connect(), worker.connect()]);
    await closeConnectionsNamed(name);
    await sleep(50);
    const outcome = await settle(
      worker.store(meta(fx.id("late"), "SUCCESS", 1), { replyTo: client.replyTo }),
    );
    expect(codeOf(outcome.error)).toBe("TQ_CONNECTION");
  });
});

describe("when the reply queue is deleted under the consumer", () => {
  it("declares and consumes it again", async () => {
    const logger = recordingLogger();
    const client = fx.backend({ logger });
    const worker = fx.backend();
    await Promise.all([client.connect(), worker.connect()]);
    const channel = await fx.raw().createChannel();
    await channel.deleteQueue(client.replyTo);
    await channel.close();
    await eventually(async () => (await listQueue(client.replyTo))?.consumers === 1, 15_000, "re-consume");
    expect(logger.lines.some((line) => /reply queue consumer was lost/.test(line.message))).toBe(true);
    const taskId = fx.id("redeclared");
    await worker.store(meta(taskId, "SUCCESS", 7), { replyTo: client.replyTo });
    expect(await client.waitFor(taskId, { timeoutMs: 5_000 })).toMatchObject({ result: 7 });
  });
});

describe("on a connection the user lent", () => {
  it("works on it, never closes it, and fails waits with TQ_CONNECTION once it closes", async () => {
    const lent = await rawConnection(fx.id("lent"));
    const client = fx.backend({ connection: lent });
    const worker = fx.backend({ connection: lent });
    await Promise.all([client.connect(), worker.connect()]);
    const taskId = fx.id("lent-ok");
    await worker.store(meta(taskId, "SUCCESS", "lent"), { replyTo: client.replyTo });
    expect(await client.waitFor(taskId, { timeoutMs: 5_000 })).toMatchObject({ result: "lent" });

    await worker.close();
    // Still open: the backend closed only its own channels.
    const channel = await lent.createChannel();
    await channel.close();

    const pending = settle(client.waitFor(fx.id("lent-pending")));
    await lent.close();
    expect(codeOf((await pending).error)).toBe("TQ_CONNECTION");
    expect(codeOf((await settle(client.waitFor(fx.id("lent-later")))).error)).toBe("TQ_CONNECTION");
    await client.close();
  });

  it("closes its consumer on close(), so the auto-delete reply queue goes away", async () => {
    const lent = await rawConnection(fx.id("lent2"));
    try {
      const client = fx.backend({ connection: lent });
      await client.connect();
      expect(await queueExists(fx.raw(), client.replyTo)).toBe(true);
      await client.close();
      await eventually(
        async () => !(await queueExists(fx.raw(), client.replyTo)),
        5_000,
        "the queue going away",
      );
    } finally {
      await lent.close();
    }
  });
});
