/**
 * Connection trouble: consumers keep consuming after their connections are killed (CLIENT KILL), the
 * poll loop logs failures at warn instead of crashing, an unreachable server is TQ_CONNECTION, and bad
 * options are TQ_CONFIG.
 * DB 4, under a prefix of its own.
 */
import { type Logger, TqError } from "@tq/core";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { RedisBroker } from "../src/broker.js";
import { BrokerPool, collector, idOf, sleep, taskMessage, until } from "./support/broker-fixtures.js";
import { brokerTestUrl, RawRedis, uniqueName } from "./support/broker-probe.js";

const url = brokerTestUrl(4);
const prefix = `${uniqueName("reconnect")}:`;
const raw = new RawRedis(url, { prefix });
const pool = new BrokerPool({ url, keyPrefix: prefix });

afterEach(() => pool.closeAll());
afterAll(async () => {
  await raw.deletePrefixed(prefix);
  await raw.close();
});

function recordingLogger(): Logger & { lines: { level: string; message: string }[] } {
  const lines: { level: string; message: string }[] = [];
  const at = (level: string) => (message: string) => void lines.push({ level, message });
  return { lines, error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") };
}

describe("reconnect", () => {
  it("keeps consuming after every connection of the broker is killed, again and again", async () => {
    const queue = uniqueName("killed");
    const connectionName = uniqueName("tq-test-conn");
    const logger = recordingLogger();
    const consumer = await pool.make({ redisOptions: { connectionName }, logger, pollIntervalMs: 50 });
    const publisher = await pool.make();
    const seen = collector((delivery) => delivery.ack());
    await consumer.consume([queue], seen.handler, { prefetch: 4 });
    await publisher.publish(taskMessage("before"), { exchange: "", routingKey: queue });
    await until(() => seen.deliveries.length === 1, "the first message");

    for (let round = 0; round < 3; round++) {
      // The main connection and the pub/sub one both carry the name (once they are back).
      await until(async () => (await raw.connectionsNamed(connectionName)) === 2, "both connections");
      expect(await raw.killConnectionsNamed(connectionName)).toBe(2);
      await sleep(50);
      for (let i = 0; i < 5; i++) {
        await publisher.publish(taskMessage(`after-${round}-${i}`), { exchange: "", routingKey: queue });
      }
      await until(
        () => seen.deliveries.length === 1 + 5 * (round + 1),
        `the messages of round ${round}`,
        10_000,
      );
    }
    expect(new Set(seen.deliveries.map(idOf)).size).toBe(16);
    expect(await raw.inFlightCount(queue)).toBe(0);
    expect(logger.lines.filter((line) => line.level === "error")).toEqual([]);
  });

  it("wakes consumers at once again after its pub/sub connection is killed", async () => {
    const queue = uniqueName("wake");
    const connectionName = uniqueName("tq-test-conn");
    // A poll so slow that only a wake-up can deliver within the wait below.
    const consumer = await pool.make({ redisOptions: { connectionName }, pollIntervalMs: 60_000 });
    const publisher = await pool.make();
    const seen = collector((delivery) => delivery.ack());
    await consumer.consume([queue], seen.handler, { prefetch: 1 });
    await until(async () => (await raw.connectionsNamed(connectionName)) === 2, "both connections");
    expect(await raw.killConnectionsNamed(connectionName)).toBe(2);
    await until(async () => (await raw.connectionsNamed(connectionName)) === 2, "both connections back");
    await sleep(200);
    await publisher.publish(taskMessage("woken"), { exchange: "", routingKey: queue });
    await until(() => seen.deliveries.length === 1, "the woken consumer", 3_000);
  });

  it("rejects with TQ_CONNECTION when Redis cannot be reached, and closes cleanly", async () => {
    const broker = new RedisBroker({
      url: "redis://127.0.0.1:1/0",
      redisOptions: { retryStrategy: () => null },
    });
    const error = await broker.connect().catch((e: unknown) => e);
    expect(TqError.is(error, "TQ_CONNECTION")).toBe(true);
    expect((error as Error).cause).toBeInstanceOf(Error);
    const publishError = await broker
      .publish(taskMessage("nowhere"), { exchange: "", routingKey: "nowhere" })
      .catch((e: unknown) => e);
    expect(TqError.is(publishError, "TQ_CONNECTION")).toBe(true);
    await broker.close();
    const closed = await broker
      .publish(taskMessage("closed"), { exchange: "", routingKey: "q" })
      .catch((e: unknown) => e);
    expect(TqError.is(closed, "TQ_CLOSED")).toBe(true);
  });
});

describe("options", () => {
  it("refuses bad options with TQ_CONFIG, without I/O", () => {
    const bad = [
      { prioritySteps: [3, 6, 9] },
      { prioritySteps: [0, 6, 3] },
      { visibilityTimeoutMs: 0 },
      { pollIntervalMs: Number.NaN },
      { redisOptions: { keyPrefix: "app:" } },
      { url: "http://127.0.0.1" },
    ];
    for (const options of bad) {
      let error: unknown;
      try {
        new RedisBroker(options);
      } catch (caught) {
        error = caught;
      }
      expect(
        TqError.is(error, "TQ_CONFIG") || TqError.is(error, "TQ_UNKNOWN_SCHEME"),
        JSON.stringify(options),
      ).toBe(true);
    }
  });
});
