/**
 * Connection life against the real RabbitMQ: connections closed from the server side
 * (`rabbitmqctl close_connection`, only the test's own, found by `connection_name`) under load, with
 * nothing lost and every publish settled; publishes waiting through an outage or failing after
 * `publishTimeoutMs`; deliveries of a dead channel settling quietly; a fast failure when RabbitMQ
 * cannot be reached.
 */
import { TqError } from "@tq/core";
import amqplib from "amqplib";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AmqpBroker } from "../src/broker.js";
import {
  amqpTestUrl,
  closeConnectionsNamed,
  connectionsNamed,
  ensureTestVhost,
  RawAmqp,
  rabbitmqctl,
  uniqueName,
} from "./support/amqp-server.js";
import {
  BrokerPool,
  collector,
  idOf,
  recordingLogger,
  sleep,
  taskMessage,
  until,
} from "./support/broker-fixtures.js";

const raw = new RawAmqp();
const pool = new BrokerPool();
const created: string[] = [];
const name = (label: string): string => {
  const queue = uniqueName(label);
  created.push(queue);
  return queue;
};

beforeAll(() => ensureTestVhost());
afterEach(() => pool.closeAll());
afterAll(async () => {
  await raw.deleteQueues(created);
  await raw.deleteExchanges(created);
  await raw.close();
});

describe("server-side connection closes under load", () => {
  it("loses nothing: every confirmed publish is consumed, every publish settles, the consumer resumes", async () => {
    const queue = name("load");
    const connectionName = uniqueName("conn");
    const logger = recordingLogger();
    const consumerBroker = await pool.make({ connectionName, logger });
    const publisher = await pool.make({ connectionName, logger });
    const counts = new Map<string, number>();
    const redelivered = new Set<string>();
    let consumed = 0;
    await consumerBroker.consume(
      [queue],
      async (delivery) => {
        const id = idOf(delivery);
        counts.set(id, (counts.get(id) ?? 0) + 1);
        if (delivery.redelivered) redelivered.add(id);
        consumed++;
        await delivery.ack();
      },
      { prefetch: 50 },
    );

    const TOTAL = 2_000;
    const confirmed: string[] = [];
    const rejected: { id: string; code: string }[] = [];
    let published = 0;
    let closingDone = false;
    // Continuously, in bursts of 20 concurrent publishes paced so that the closes land mid-stream;
    // the last twentieth waits for the closes, so that the consumer must have resumed to receive it.
    const publishing = (async () => {
      for (let start = 0; start < TOTAL; start += 20) {
        if (start >= TOTAL * 0.95) await until(() => closingDone, "the closes", 30_000);
        const ids = Array.from({ length: Math.min(20, TOTAL - start) }, (_, i) => `load-${start + i}`);
        await Promise.all(
          ids.map((id) =>
            publisher.publish(taskMessage(id), { exchange: "", routingKey: queue }).then(
              () => void confirmed.push(id),
              (error: unknown) => void rejected.push({ id, code: (error as TqError).code }),
            ),
          ),
        );
        published += ids.length;
        await sleep(45);
      }
    })();

    let closes = 0;
    const publishedAtCloses: number[] = [];
    for (let round = 0; round < 2; round++) {
      // Never past the point where publishing waits for the closes (on a slow machine rabbitmqctl's
      // first close can come that late).
      const threshold = Math.min((publishedAtCloses[round - 1] ?? 0) + 300, TOTAL * 0.95);
      await until(() => published >= threshold, `${threshold} publishes`, 20_000);
      // Both brokers' connections (the consumer's and the publisher's) at once.
      closes += await closeConnectionsNamed(connectionName, 2);
      publishedAtCloses.push(published);
    }
    const consumedAtLastClose = consumed;
    closingDone = true;
    await publishing;

    expect(confirmed.length + rejected.length).toBe(TOTAL);
    for (const { code } of rejected) expect(["TQ_CONNECTION", "TQ_TIMEOUT"]).toContain(code);
    await until(
      () => confirmed.every((id) => counts.has(id)),
      () => `every confirmed publish consumed (missing ${confirmed.filter((id) => !counts.has(id)).length})`,
      20_000,
    );
    const duplicates = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
    // A message is seen twice only when RabbitMQ redelivered it (its ack was lost with a connection).
    for (const id of duplicates) expect(redelivered.has(id), `${id} came again as a redelivery`).toBe(true);
    // Rejected publishes may or may not have reached the queue; nothing else was consumed.
    const known = new Set([...confirmed, ...rejected.map((r) => r.id)]);
    expect([...counts.keys()].filter((id) => !known.has(id))).toEqual([]);
    expect(consumed).toBeGreaterThan(consumedAtLastClose);
    expect(closes).toBe(4);
    // The closes came while publishing went on: the first mid-stream, the second at the latest while the
    // last twentieth waited for it (on a loaded machine rabbitmqctl can take that long).
    expect(publishedAtCloses[0], `closes after ${publishedAtCloses}`).toBeLessThan(TOTAL * 0.95);
    expect(publishedAtCloses[1], `closes after ${publishedAtCloses}`).toBeLessThanOrEqual(TOTAL * 0.95);
    expect(logger.lines.filter((line) => line.level === "error")).toEqual([]);
    await until(async () => (await raw.readyCount(queue)) === 0, "an empty queue");
    console.info(
      `[reconnect] ${TOTAL} publishes: ${confirmed.length} confirmed, ${rejected.length} rejected ` +
        `(${[...new Set(rejected.map((r) => r.code))].join(", ") || "none"}); ${closes} connections closed; ` +
        `${consumed} deliveries of ${counts.size} ids, ${duplicates.length} duplicates (all redeliveries), ` +
        `${redelivered.size} redelivered; 0 lost; closes after ${publishedAtCloses.join(" and ")} publishes`,
    );
  }, 60_000);
});

describe("a connection closed during a flood of publishes", () => {
  it("settles every publish: the confirmed are in the queue, the unconfirmed reject with TQ_CONNECTION", async () => {
    const queue = name("flood");
    const connectionName = uniqueName("conn");
    const broker = await pool.make({ connectionName });
    await broker.publish(taskMessage("warm-up"), { exchange: "", routingKey: queue });
    const confirmed = new Set<string>(["warm-up"]);
    const rejected: string[] = [];
    const codes = new Set<string>();
    let stop = false;
    // rabbitmqctl takes a while to start: the close lands somewhere in the flood, while about 500
    // publishes are unconfirmed (a sliding window), and the flood goes on a little after it.
    const closing = closeConnectionsNamed(connectionName).finally(() => {
      setTimeout(() => {
        stop = true;
      }, 200);
    });
    let n = 0;
    let inFlight = 0;
    let slot: (() => void) | undefined;
    while (!stop && n < 200_000) {
      const id = `flood-${n++}`;
      inFlight++;
      void broker
        .publish(taskMessage(id), { exchange: "", routingKey: queue })
        .then(
          () => void confirmed.add(id),
          (error: unknown) => {
            codes.add((error as TqError).code);
            rejected.push(id);
          },
        )
        .finally(() => {
          inFlight--;
          slot?.();
        });
      while (inFlight >= 500) await new Promise<void>((resolve) => (slot = resolve));
    }
    await until(() => inFlight === 0, "every publish settled", 20_000);
    expect(await closing).toBe(1);
    expect(confirmed.size + rejected.length).toBe(n + 1);
    expect([...codes]).toEqual(rejected.length > 0 ? ["TQ_CONNECTION"] : []);
    const inQueue = new Set<string>();
    await raw.withChannel(async (channel) => {
      await channel.consume(queue, (got) => void inQueue.add(String(got?.properties.headers?.id)), {
        noAck: true,
      });
      await until(async () => (await channel.checkQueue(queue)).messageCount === 0, "the queue drained");
      await sleep(200);
    });
    expect([...confirmed].filter((id) => !inQueue.has(id))).toEqual([]);
    console.info(
      `[flood] ${n} publishes: ${confirmed.size - 1} confirmed, ${rejected.length} rejected with TQ_CONNECTION ` +
        `(${rejected.filter((id) => inQueue.has(id)).length} of them had reached the queue); none confirmed was lost`,
    );
  }, 30_000);
});

describe("outages", () => {
  it("publishes made while disconnected wait for the reconnection and succeed", async () => {
    const queue = name("wait");
    const connectionName = uniqueName("conn");
    const broker = await pool.make({ connectionName, reconnect: { initialDelayMs: 1_500, jitter: 0 } });
    await broker.publish(taskMessage("before"), { exchange: "", routingKey: queue });
    expect(await closeConnectionsNamed(connectionName)).toBe(1);
    const started = Date.now();
    await broker.publish(taskMessage("during"), { exchange: "", routingKey: queue });
    expect(Date.now() - started).toBeGreaterThan(500);
    expect(await raw.readyCount(queue)).toBe(2);
  });

  it("publishes fail with TQ_CONNECTION after publishTimeoutMs when RabbitMQ stays away", async () => {
    const queue = name("timeout");
    const connectionName = uniqueName("conn");
    const broker = await pool.make({
      connectionName,
      publishTimeoutMs: 300,
      reconnect: { initialDelayMs: 3_000, jitter: 0 },
    });
    await broker.publish(taskMessage("before"), { exchange: "", routingKey: queue });
    await closeConnectionsNamed(connectionName);
    const started = Date.now();
    const error = await broker
      .publish(taskMessage("lost"), { exchange: "", routingKey: queue })
      .catch((e) => e);
    expect(TqError.is(error, "TQ_CONNECTION")).toBe(true);
    expect((error as Error).message).toMatch(/unreachable/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(2_000);
    // And once it is back, publishing works again.
    await until(async () => (await connectionsNamed(connectionName)).length === 1, "the reconnection");
    await broker.publish(taskMessage("after"), { exchange: "", routingKey: queue });
  });

  it("settles deliveries of a dead channel quietly; RabbitMQ redelivers them to the resumed consumer", async () => {
    const queue = name("dead-channel");
    const connectionName = uniqueName("conn");
    const logger = recordingLogger();
    const broker = await pool.make({ connectionName, logger, heartbeatSeconds: 30 });
    const rows = await rabbitmqctl("list_connections", "client_properties", "timeout");
    expect(rows.find(([properties]) => properties?.includes(connectionName))?.[1]).toBe("30");
    const seen = collector();
    await broker.consume([queue], seen.handler, { prefetch: 1 });
    await broker.publish(taskMessage("held"), { exchange: "", routingKey: queue });
    await until(() => seen.deliveries.length === 1, "the first delivery");
    await closeConnectionsNamed(connectionName);
    await until(() => seen.deliveries.length === 2, "the redelivery on the new connection", 10_000);
    const [old, again] = seen.deliveries;
    await expect(old!.ack()).resolves.toBeUndefined();
    expect(logger.lines.some((line) => line.level === "debug" && /channel closed/.test(line.message))).toBe(
      true,
    );
    expect(again!.redelivered).toBe(true);
    expect(idOf(again!)).toBe("held");
    await again!.ack();
    await until(async () => (await raw.inFlightCount(queue)) === 0, "nothing unacknowledged");
  });

  it("consumes again when its queue is deleted under it", async () => {
    const queue = name("deleted");
    const broker = await pool.make();
    const seen = collector((delivery) => delivery.ack());
    await broker.consume([queue], seen.handler, { prefetch: 1 });
    await raw.deleteQueues([queue]);
    await sleep(300);
    await until(
      async () => (await rabbitmqctl("list_queues", "name")).some(([n]) => n === queue),
      "the queue back",
    );
    await broker.publish(taskMessage("after-delete"), { exchange: "", routingKey: queue });
    await until(() => seen.deliveries.length === 1, "the delivery after the queue came back", 10_000);
  });

  it("shares a connection passed in and never closes it; once it is closed, operations fail with TQ_CONNECTION", async () => {
    const queue = name("shared");
    const connection = await amqplib.connect(amqpTestUrl());
    try {
      const broker = new AmqpBroker({ connection });
      const seen = collector((delivery) => delivery.ack());
      await broker.consume([queue], seen.handler, { prefetch: 1 });
      await broker.publish(taskMessage("shared-1"), { exchange: "", routingKey: queue });
      await until(() => seen.deliveries.length === 1, "the delivery");
      await broker.close();
      // Still open, and the broker's channels are gone: nothing consumes the queue any more.
      const channel = await connection.createChannel();
      expect((await channel.checkQueue(queue)).consumerCount).toBe(0);
      await channel.close();

      const second = new AmqpBroker({ connection });
      await second.publish(taskMessage("shared-2"), { exchange: "", routingKey: queue });
      await connection.close();
      const error = await second
        .publish(taskMessage("after"), { exchange: "", routingKey: queue })
        .catch((e) => e);
      expect(TqError.is(error, "TQ_CONNECTION")).toBe(true);
      await second.close();
    } finally {
      await connection.close().catch(() => undefined);
    }
  });

  it("fails fast with TQ_CONNECTION when RabbitMQ cannot be reached, and closes cleanly", async () => {
    const broker = new AmqpBroker({ url: "amqp://guest:guest@127.0.0.1:1//" });
    const started = Date.now();
    const error = await broker.connect().catch((e: unknown) => e);
    expect(TqError.is(error, "TQ_CONNECTION")).toBe(true);
    expect((error as Error).message).not.toContain("guest:guest");
    expect(Date.now() - started).toBeLessThan(2_000);
    const publishError = await broker
      .publish(taskMessage("nowhere"), { exchange: "", routingKey: "nowhere" })
      .catch((e: unknown) => e);
    expect(TqError.is(publishError, "TQ_CONNECTION")).toBe(true);
    await broker.close();
    const closed = await broker
      .publish(taskMessage("closed"), { exchange: "", routingKey: "q" })
      .catch((e) => e);
    expect(TqError.is(closed, "TQ_CLOSED")).toBe(true);
  });
});
