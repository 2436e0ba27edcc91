/**
 * Leased delivery against the server: claim races between consumers on separate clients, a consumer
 * that dies without settling, and a long-held message that is never delivered twice.
 */
import type { Delivery, TransportMessage } from "@tq/core";
import { MongoClient } from "mongodb";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { MongoBroker } from "../src/broker.js";
import { countIn, dateOf, rawClient, TestDatabase } from "./support/mongo.js";

const database = new TestDatabase("leases");
const brokers: MongoBroker[] = [];
const clients: MongoClient[] = [];

afterEach(async () => {
  await Promise.allSettled(brokers.splice(0).map((broker) => broker.close()));
  await Promise.allSettled(clients.splice(0).map((client) => client.close()));
});
afterAll(() => database.drop());

function broker(options: Partial<ConstructorParameters<typeof MongoBroker>[0]> = {}): MongoBroker {
  const created = new MongoBroker({ url: database.url, ...options });
  brokers.push(created);
  return created;
}

function message(id: string): TransportMessage {
  return {
    headers: { lang: "js", task: "leases.work", id },
    properties: { correlation_id: id, delivery_mode: 2, priority: 0 },
    contentType: "application/json",
    contentEncoding: "utf-8",
    body: new TextEncoder().encode(JSON.stringify([[id], {}, {}])),
  };
}

const direct = (queue: string) => ({ exchange: "", routingKey: queue });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

describe("MongoBroker leases", () => {
  it("four consumers on separate MongoClients get each of 500 messages exactly once", async () => {
    const queue = "race";
    const publisher = broker();
    const counts = new Map<string, number>();
    let received = 0;
    for (let i = 0; i < 4; i++) {
      // Each broker creates its own MongoClient: four connection pools racing on findOneAndUpdate.
      await broker().consume(
        [queue],
        async (delivery) => {
          const id = String(delivery.message.headers.id);
          counts.set(id, (counts.get(id) ?? 0) + 1);
          received++;
          await delivery.ack();
        },
        { prefetch: 8 },
      );
    }
    const ids = Array.from({ length: 500 }, (_, i) => `race-${i}`);
    for (let i = 0; i < ids.length; i += 50) {
      await Promise.all(ids.slice(i, i + 50).map((id) => publisher.publish(message(id), direct(queue))));
    }
    await until("500 deliveries", () => received >= ids.length, 80_000);
    await sleep(200);
    expect(received).toBe(ids.length);
    expect(ids.filter((id) => counts.get(id) !== 1)).toEqual([]);
    expect(await countIn(database.db.collection("messages"), { queue })).toBe(0);
  }, 90_000);

  it("a consumer that dies without settling: its messages come back after the visibility timeout, redelivered", async () => {
    const queue = "dead";
    const visibilityTimeoutMs = 600;
    const doomedClient = new MongoClient(database.url);
    clients.push(doomedClient);
    const doomed = broker({ client: doomedClient, visibilityTimeoutMs, visibilityRefreshIntervalMs: 150 });
    const held: Delivery[] = [];
    await doomed.consume([queue], (delivery) => void held.push(delivery), { prefetch: 2 });
    await doomed.publish(message("dead-1"), direct(queue));
    await doomed.publish(message("dead-2"), direct(queue));
    await until("the doomed consumer to hold both", () => held.length === 2, 5_000);

    // The process "dies": its connections go away, no settle, no put-back, no more lease extensions.
    const diedAt = Date.now();
    await doomedClient.close(true);

    const survivor = broker({ visibilityTimeoutMs });
    const again: { delivery: Delivery; at: number }[] = [];
    await survivor.consume(
      [queue],
      async (delivery) => {
        again.push({ delivery, at: Date.now() });
        await delivery.ack();
      },
      { prefetch: 2 },
    );
    await until("both messages to come back", () => again.length === 2, 10_000);
    expect(again.map(({ delivery }) => delivery.message.headers.id).sort()).toEqual(["dead-1", "dead-2"]);
    for (const { delivery, at } of again) {
      expect(delivery.redelivered).toBe(true);
      // Not before the lease the dead consumer last took (at most one refresh interval before it died).
      expect(at - diedAt).toBeGreaterThanOrEqual(visibilityTimeoutMs - 150 - 25);
    }
  });

  it("a message held longer than its visibility timeout is never delivered twice", async () => {
    const queue = "long";
    const holder = broker({ visibilityTimeoutMs: 400, visibilityRefreshIntervalMs: 100 });
    const rival = broker({ visibilityTimeoutMs: 400 });
    const held: Delivery[] = [];
    await holder.consume([queue], (delivery) => void held.push(delivery), { prefetch: 1 });
    await holder.publish(message("long-1"), direct(queue));
    await until("the holder to get it", () => held.length === 1, 5_000);
    const rivalGot: Delivery[] = [];
    await rival.consume([queue], (delivery) => void rivalGot.push(delivery), { prefetch: 1 });

    const raw = database.db.collection("messages");
    const first = await raw.findOne({ queue });
    await sleep(1_500); // almost four visibility timeouts
    const later = await raw.findOne({ queue });
    expect(rivalGot).toHaveLength(0);
    expect(later?.deliveries).toBe(1);
    expect(dateOf(later?.deadline).getTime()).toBeGreaterThan(dateOf(first?.deadline).getTime());

    // extendVisibility beyond the keeper's refreshes holds it too.
    await held[0]!.extendVisibility!(5_000);
    const extended = await raw.findOne({ queue });
    expect(dateOf(extended?.deadline).getTime()).toBeGreaterThan(Date.now() + 4_000);
    await sleep(300);
    expect((await raw.findOne({ queue }))?.deadline).toEqual(extended?.deadline);

    await held[0]!.ack();
    await sleep(300);
    expect(rivalGot).toHaveLength(0);
    expect(await raw.findOne({ queue })).toBeNull();
  });

  it("close() lets an ack sent just before it reach MongoDB instead of failing on the closed client", async () => {
    const queue = "ack-then-close";
    const closing = broker();
    const held: Delivery[] = [];
    await closing.consume([queue], (delivery) => void held.push(delivery), { prefetch: 5 });
    for (let i = 0; i < 5; i++) await closing.publish(message(`close-${i}`), direct(queue));
    await until("five messages held", () => held.length === 5, 5_000);
    const acks = held.map((delivery) => delivery.ack());
    await closing.close();
    // Every ack resolved (none rejected with TQ_CONNECTION), and none of the messages is left to run again.
    await expect(Promise.all(acks)).resolves.toHaveLength(5);
    expect(await countIn(database.db.collection("messages"), { queue })).toBe(0);
  });

  it("moves rejected messages to the dead-letter queue when one is configured", async () => {
    const queue = "dlq-src";
    const deadLetterQueue = "dlq-dead";
    const worker = broker({ deadLetterQueue });
    await worker.publish(message("dlq-1"), direct(queue));
    await worker.consume([queue], (delivery) => delivery.reject(), { prefetch: 1 });
    const raw = database.db.collection("messages");
    await until(
      "the message to move",
      async () => (await raw.findOne({ queue: deadLetterQueue })) !== null,
      5_000,
    );
    expect(await worker.queueLength(deadLetterQueue)).toBe(1);
    expect(await worker.queueLength(queue)).toBe(0);
  });
});

describe("MongoBroker message documents", () => {
  it("stores the layout the README documents, with the message exact", async () => {
    const queue = "layout";
    const publisher = broker();
    const sent = message("layout-1");
    sent.properties.priority = 7;
    sent.headers.timelimit = [60, null];
    sent.headers.x_nested = { list: [1, "två", null, { deep: true }] };
    const deliverAt = new Date(Date.now() + 60_000);
    await publisher.publish(sent, direct(queue), { deliverAt });
    const raw = rawClient();
    clients.push(raw);
    const document = await raw.db(database.name).collection("messages").findOne({ queue });
    expect(Object.keys(document ?? {})).toEqual([
      "_id",
      "queue",
      "priority",
      "visibleAt",
      "owner",
      "deadline",
      "deliveries",
      "payload",
    ]);
    expect(document).toMatchObject({ queue, priority: 7, owner: null, deadline: null, deliveries: 0 });
    expect(document?.visibleAt).toEqual(deliverAt);
    expect(document?.payload.headers).toEqual(sent.headers);
    expect(document?.payload.properties).toEqual(sent.properties);
    expect(document?.payload.contentType).toBe("application/json");
    expect(document?.payload.contentEncoding).toBe("utf-8");
    expect(document?.payload.body._bsontype).toBe("Binary");
    expect(new TextDecoder().decode(document?.payload.body.buffer)).toBe('[["layout-1"],{},{}]');
    // Delayed: not ready yet, and not counted as ready.
    expect(await publisher.queueLength(queue)).toBe(0);
    expect(await publisher.purge(queue)).toBe(1);
  });
});
