/**
 * The broker's batching and claims as the server sees them, counted with the driver's command
 * monitoring: the publishes of one turn as one `insert` command, each publish failing alone, and
 * several claims under way per consumer without ever holding more than `prefetch`.
 */
import type { TransportMessage } from "@tq/core";
import type { CommandStartedEvent, CommandSucceededEvent } from "mongodb";
import { MongoClient } from "mongodb";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { MongoBroker } from "../src/broker.js";
import { countIn, TestDatabase } from "./support/mongo.js";

const database = new TestDatabase("throughput");
const brokers: MongoBroker[] = [];
const clients: MongoClient[] = [];

afterEach(async () => {
  await Promise.allSettled(brokers.splice(0).map((broker) => broker.close()));
  await Promise.allSettled(clients.splice(0).map((client) => client.close()));
});
afterAll(() => database.drop());

/** A broker on its own monitored client, and the commands that client starts. */
function monitoredBroker(options: Partial<ConstructorParameters<typeof MongoBroker>[0]> = {}) {
  const client = new MongoClient(database.url, { monitorCommands: true });
  clients.push(client);
  const started: CommandStartedEvent[] = [];
  client.on("commandStarted", (event) => started.push(event));
  const broker = new MongoBroker({ client, database: database.name, ...options });
  brokers.push(broker);
  const commands = (name: string) => started.filter((event) => event.commandName === name);
  return { broker, client, started, commands };
}

function message(id: string, headers: Record<string, unknown> = {}): TransportMessage {
  return {
    headers: { lang: "js", task: "throughput.work", id, ...headers },
    properties: { correlation_id: id, delivery_mode: 2, priority: 0 },
    contentType: "application/json",
    contentEncoding: "utf-8",
    body: new TextEncoder().encode(JSON.stringify([[id], {}, {}])),
  };
}

const direct = (queue: string) => ({ exchange: "", routingKey: queue });

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("MongoBroker publish batching", () => {
  it("sends the publishes of one event-loop turn as one insert command", async () => {
    const queue = "burst";
    const { broker, started, commands } = monitoredBroker();
    await broker.connect();
    started.length = 0;
    const ids = Array.from({ length: 50 }, (_, i) => `burst-${i}`);
    await Promise.all(ids.map((id) => broker.publish(message(id), direct(queue))));
    const inserts = commands("insert");
    expect(inserts).toHaveLength(1);
    expect(inserts[0]?.command.ordered).toBe(false);
    expect(inserts[0]?.command.documents).toHaveLength(50);
    expect(await countIn(database.db.collection("messages"), { queue })).toBe(50);

    // A lone publish is one insert of one document, as before.
    await broker.publish(message("burst-lone"), direct(queue));
    expect(commands("insert")).toHaveLength(2);
    expect(commands("insert")[1]?.command.documents).toHaveLength(1);
  });

  it("fails only the publish whose document the server refuses (a duplicate key)", async () => {
    const collection = "unique_messages";
    const queue = "dup";
    await database.db
      .collection(collection)
      .createIndex({ "payload.headers.id": 1 }, { unique: true, name: "test_unique_task_id" });
    const { broker, started, commands } = monitoredBroker({ collection });
    await broker.publish(message("dup-taken"), direct(queue));
    started.length = 0;

    const outcomes = await Promise.allSettled([
      broker.publish(message("dup-a"), direct(queue)),
      broker.publish(message("dup-taken"), direct(queue)),
      broker.publish(message("dup-b"), direct(queue)),
    ]);
    expect(commands("insert")).toHaveLength(1);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    const error = (outcomes[1] as PromiseRejectedResult).reason;
    expect(error.code).toBe("TQ_MONGO");
    expect(error.cause.code).toBe(11000);
    const stored = await database.db.collection(collection).find({ queue }).toArray();
    expect(stored.map((document) => document.payload.headers.id).sort()).toEqual([
      "dup-a",
      "dup-b",
      "dup-taken",
    ]);
  });

  it("fails only the publish whose document the driver refuses, sending the others", async () => {
    const queue = "refused";
    const { broker, started, commands } = monitoredBroker();
    await broker.connect();
    started.length = 0;
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const outcomes = await Promise.allSettled([
      broker.publish(message("refused-a"), direct(queue)),
      broker.publish(message("refused-bad", { circular }), direct(queue)),
      broker.publish(message("refused-b"), direct(queue)),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((outcomes[1] as PromiseRejectedResult).reason.code).toMatch(/^TQ_/);
    // The batch never left the driver; each document went out alone (the driver reports the bad one's
    // command as started before it fails to serialize it).
    const inserts = commands("insert").map((event) => event.command.documents.length);
    expect(inserts.length).toBeGreaterThanOrEqual(2);
    expect(inserts.every((documents) => documents === 1)).toBe(true);
    expect(await countIn(database.db.collection("messages"), { queue })).toBe(2);
  });

  it("leaves out a publish whose signal aborts before its batch goes out", async () => {
    const queue = "aborted";
    const { broker, started, commands } = monitoredBroker();
    await broker.connect();
    started.length = 0;
    const controller = new AbortController();
    const kept = broker.publish(message("aborted-kept"), direct(queue));
    const dropped = broker
      .publish(message("aborted-dropped"), direct(queue), { signal: controller.signal })
      .then(
        () => "published",
        (error: unknown) => error,
      );
    controller.abort();
    await expect(kept).resolves.toBeUndefined();
    expect(await dropped).toMatchObject({ code: "TQ_ABORTED" });
    expect(commands("insert").map((event) => event.command.documents.length)).toEqual([1]);
    expect(await countIn(database.db.collection("messages"), { queue })).toBe(1);
  });

  it("close() lets publishes under way finish before it closes the client", async () => {
    const queue = "close-publish";
    // A broker of its own client (so close() closes it) that has not even connected yet.
    const broker = new MongoBroker({ url: database.url });
    brokers.push(broker);
    const sent = Array.from({ length: 5 }, (_, i) => broker.publish(message(`close-${i}`), direct(queue)));
    await broker.close();
    await expect(Promise.all(sent)).resolves.toHaveLength(5);
    expect(await countIn(database.db.collection("messages"), { queue })).toBe(5);
  });
});

describe("MongoBroker claims in flight", () => {
  it("has several claims under way per consumer yet never holds more than prefetch", async () => {
    const queue = "prefetch";
    const prefetch = 4;
    const total = 40;
    const { broker, client } = monitoredBroker();
    // Claims under way on the wire: started and not yet answered.
    const claimsUnderWay = new Set<number>();
    let mostUnderWay = 0;
    client.on("commandStarted", (event) => {
      if (event.commandName !== "findAndModify") return;
      claimsUnderWay.add(event.requestId);
      mostUnderWay = Math.max(mostUnderWay, claimsUnderWay.size);
    });
    const answered = (event: CommandSucceededEvent | { requestId: number }) => {
      claimsUnderWay.delete(event.requestId);
    };
    client.on("commandSucceeded", answered);
    client.on("commandFailed", answered);

    const publisher = monitoredBroker().broker;
    await Promise.all(
      Array.from({ length: total }, (_, i) => publisher.publish(message(`prefetch-${i}`), direct(queue))),
    );
    const held: { ack(): Promise<void>; id: string }[] = [];
    const seen = new Map<string, number>();
    let mostHeld = 0;
    await broker.consume(
      [queue],
      (delivery) => {
        const id = String(delivery.message.headers.id);
        seen.set(id, (seen.get(id) ?? 0) + 1);
        held.push({ ack: () => delivery.ack(), id });
        mostHeld = Math.max(mostHeld, held.length);
      },
      { prefetch },
    );
    // Acknowledge in rounds, only once the consumer holds a full prefetch again.
    while (seen.size < total) {
      await until("a full prefetch held", () => held.length === prefetch || seen.size === total);
      await Promise.all(held.splice(0).map((delivery) => delivery.ack()));
    }
    await Promise.all(held.splice(0).map((delivery) => delivery.ack()));
    expect(mostHeld).toBeLessThanOrEqual(prefetch);
    expect(mostUnderWay).toBeLessThanOrEqual(prefetch);
    expect([...seen.values()].every((count) => count === 1)).toBe(true);
    expect(seen.size).toBe(total);
    await until(
      "the queue to empty",
      async () => (await countIn(database.db.collection("messages"), { queue })) === 0,
    );
  });
});
