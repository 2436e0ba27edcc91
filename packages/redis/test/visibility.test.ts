/**
 * A living consumer keeps what it holds invisible however long it holds it, so a restorer with the
 * same (short) visibility timeout never hands it to a second worker: Celery's kombu#337 trap, closed.
 * DB 4, under a prefix of its own.
 */
import { TqError } from "@tq/core";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { BrokerPool, collector, idOf, sleep, taskMessage, until } from "./support/broker-fixtures.js";
import { brokerTestUrl, RawRedis, uniqueName } from "./support/broker-probe.js";

const url = brokerTestUrl(4);
const prefix = `${uniqueName("visibility")}:`;
const raw = new RawRedis(url, { prefix });
const VISIBILITY_TIMEOUT_MS = 1_000;
const pool = new BrokerPool({ url, keyPrefix: prefix, visibilityTimeoutMs: VISIBILITY_TIMEOUT_MS });

afterEach(() => pool.closeAll());
afterAll(async () => {
  await raw.deletePrefixed(prefix);
  await raw.close();
});

describe("visibility", () => {
  it("never delivers a message twice while its holder lives, however long it holds it", async () => {
    const queue = uniqueName("long");
    const holder = await pool.make();
    await holder.publish(taskMessage("long-1"), { exchange: "", routingKey: queue });
    const held = collector();
    await holder.consume([queue], held.handler, { prefetch: 1 });
    await until(() => held.deliveries.length === 1, "the delivery");

    // Another worker on the same queue restoring as often as it can.
    const other = await pool.make({ restoreIntervalMs: 50 });
    const stolen = collector((delivery) => delivery.ack());
    await other.consume([queue], stolen.handler, { prefetch: 1 });
    await sleep(VISIBILITY_TIMEOUT_MS * 3);
    expect(stolen.deliveries).toHaveLength(0);
    expect(await raw.inFlightCount(queue)).toBe(1);

    await held.deliveries[0]!.ack();
    expect(await raw.inFlightCount(queue)).toBe(0);
    expect(await raw.client.zcard(`${prefix}unacked_index`)).toBe(0);
    await sleep(VISIBILITY_TIMEOUT_MS * 1.5);
    expect(stolen.deliveries).toHaveLength(0);
    expect(await raw.readyCount(queue)).toBe(0);
  });

  it("restores a message whose holder stopped extending it (the control case)", async () => {
    const queue = uniqueName("stuck");
    // Refreshing once an hour plays a holder that froze.
    const holder = await pool.make({ visibilityRefreshIntervalMs: 3_600_000 });
    await holder.publish(taskMessage("stuck-1"), { exchange: "", routingKey: queue });
    const held = collector();
    await holder.consume([queue], held.handler, { prefetch: 1 });
    await until(() => held.deliveries.length === 1, "the delivery");
    const other = await pool.make({ restoreIntervalMs: 50 });
    const rescued = collector((delivery) => delivery.ack());
    await other.consume([queue], rescued.handler, { prefetch: 1 });
    await until(() => rescued.deliveries.length === 1, "the restored message", 5_000);
    expect(idOf(rescued.deliveries[0]!)).toBe("stuck-1");
    expect(rescued.deliveries[0]!.redelivered).toBe(true);
    // The frozen holder's late ack finds nothing left to remove.
    await held.deliveries[0]!.ack();
    expect(await raw.inFlightCount(queue)).toBe(0);
  });

  it("extendVisibility moves the score forward only, and rejects once settled", async () => {
    const queue = uniqueName("extend");
    const broker = await pool.make({ visibilityRefreshIntervalMs: 3_600_000 });
    await broker.publish(taskMessage("extend-1"), { exchange: "", routingKey: queue });
    const held = collector();
    await broker.consume([queue], held.handler, { prefetch: 1 });
    await until(() => held.deliveries.length === 1, "the delivery");
    const [delivery] = held.deliveries;
    const [entry] = await raw.unacked(queue);
    await delivery!.extendVisibility!(60_000);
    const [extended] = await raw.unacked(queue);
    // Hidden until now + 60 s: the score a restorer compares with now − timeout.
    const expected = (Date.now() + 60_000 - VISIBILITY_TIMEOUT_MS) / 1000;
    expect(extended!.score).toBeGreaterThan(entry!.score!);
    expect(Math.abs(extended!.score! - expected)).toBeLessThan(2);
    await delivery!.extendVisibility!(1);
    expect((await raw.unacked(queue))[0]!.score).toBe(extended!.score);
    await delivery!.ack();
    const error = await delivery!.extendVisibility!(1_000).catch((e: unknown) => e);
    expect(TqError.is(error, "TQ_DELIVERY_SETTLED")).toBe(true);
    const again = await delivery!.ack().catch((e: unknown) => e);
    expect(TqError.is(again, "TQ_DELIVERY_SETTLED")).toBe(true);
  });
});
