/**
 * Workers that die holding messages (SIGKILL: no chance to put anything back) lose nothing: another
 * worker gets every message exactly once after the visibility timeout, marked redelivered. Also
 * across languages: Python's kombu restores what a dead tq worker held, and tq restores what a dead
 * Python worker held. DB 3.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BrokerPool, collector, idOf, sleep, taskMessage, until } from "./support/broker-fixtures.js";
import { brokerTestUrl, RawRedis, uniqueName } from "./support/broker-probe.js";
import {
  ensureBuilt,
  type JsonLineProcess,
  runPythonRestore,
  spawnPythonHolder,
  spawnTqHolder,
} from "./support/broker-processes.js";

const url = brokerTestUrl(3);
const raw = new RawRedis(url);
const pool = new BrokerPool({ url });
const VISIBILITY_TIMEOUT_MS = 1_500;
const children: JsonLineProcess[] = [];

beforeAll(async () => {
  ensureBuilt();
  await raw.client.flushdb();
}, 120_000);

afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => child.kill9()));
  await pool.closeAll();
});

afterAll(async () => {
  await raw.client.flushdb();
  await raw.close();
});

async function publish(queue: string, count: number): Promise<string[]> {
  const broker = await pool.make();
  const ids = Array.from({ length: count }, (_, i) => `${queue}-${i}`);
  for (const [i, id] of ids.entries()) {
    await broker.publish(taskMessage(id, { priority: (i % 4) * 3 }), { exchange: "", routingKey: queue });
  }
  return ids;
}

describe("crash recovery", () => {
  it("gives every message held by a killed tq worker to another worker exactly once, marked redelivered", async () => {
    const queue = uniqueName("crash");
    const ids = await publish(queue, 10);
    const holder = spawnTqHolder(url, queue, 4, VISIBILITY_TIMEOUT_MS);
    children.push(holder);
    const report = await holder.waitFor((line) => Array.isArray(line.held) && line.held.length === 4);
    const held = report.held as string[];
    expect(await raw.inFlightCount(queue)).toBe(4);
    await holder.kill9();
    expect(await raw.inFlightCount(queue)).toBe(4);

    const survivor = await pool.make({ visibilityTimeoutMs: VISIBILITY_TIMEOUT_MS });
    const counts = new Map<string, number>();
    const seen = collector((delivery) => {
      counts.set(idOf(delivery), (counts.get(idOf(delivery)) ?? 0) + 1);
      return delivery.ack();
    });
    await survivor.consume([queue], seen.handler, { prefetch: 10 });
    await until(() => seen.deliveries.length >= ids.length, "every message", 15_000);
    // Longer than the visibility timeout: a duplicate would show up now.
    await sleep(VISIBILITY_TIMEOUT_MS * 2);
    expect([...counts.keys()].sort()).toEqual([...ids].sort());
    expect([...counts.values()].every((count) => count === 1)).toBe(true);
    for (const delivery of seen.deliveries) {
      expect(delivery.redelivered, idOf(delivery)).toBe(held.includes(idOf(delivery)));
    }
    expect(await raw.inFlightCount(queue)).toBe(0);
    expect(await raw.readyCount(queue)).toBe(0);
  });

  it("lets Python's kombu restore what a killed tq worker held", async () => {
    const queue = uniqueName("to-python");
    const [id] = await publish(queue, 1);
    const holder = spawnTqHolder(url, queue, 1, VISIBILITY_TIMEOUT_MS);
    children.push(holder);
    await holder.waitFor((line) => Array.isArray(line.held) && line.held.length === 1);
    await holder.kill9();
    await sleep(1_100);
    runPythonRestore(url, 1);
    expect(await raw.inFlightCount(queue)).toBe(0);
    // kombu 5.2 restores to the bare queue key (kombu ≥ 5.4 would use the priority bucket).
    expect(await raw.readyCount(queue)).toBe(1);
    const consumer = await pool.make();
    const seen = collector((delivery) => delivery.ack());
    await consumer.consume([queue], seen.handler, { prefetch: 1 });
    await until(() => seen.deliveries.length === 1, "the restored message");
    expect(idOf(seen.deliveries[0]!)).toBe(id);
    expect(seen.deliveries[0]!.redelivered).toBe(true);
  });

  it("restores what a killed Python worker held", async () => {
    const queue = uniqueName("from-python");
    const ids = await publish(queue, 3);
    const holder = spawnPythonHolder(url, queue, 2);
    children.push(holder);
    const report = await holder.waitFor((line) => Array.isArray(line.held) && line.held.length === 2);
    const held = report.held as string[];
    await holder.kill9();
    const entries = await raw.unacked(queue);
    expect(entries.map((entry) => entry.exchange)).toEqual(["", ""]);

    const survivor = await pool.make({ visibilityTimeoutMs: VISIBILITY_TIMEOUT_MS });
    const seen = collector((delivery) => delivery.ack());
    await survivor.consume([queue], seen.handler, { prefetch: 5 });
    await until(() => seen.deliveries.length >= ids.length, "every message", 15_000);
    await sleep(VISIBILITY_TIMEOUT_MS);
    expect(seen.deliveries.map(idOf).sort()).toEqual([...ids].sort());
    for (const delivery of seen.deliveries) {
      expect(delivery.redelivered, idOf(delivery)).toBe(held.includes(idOf(delivery)));
    }
    expect(await raw.inFlightCount(queue)).toBe(0);
  });
});
