/**
 * The transport plugin as an application meets it: `createApp` with mongodb:// URLs, the plugin
 * registered, a worker running a task end to end, and the app's transport options (tq's and Celery's
 * names) reaching the broker and backend.
 */
import { randomUUID } from "node:crypto";
import { createApp } from "@tq/core";
import { createWorker } from "@tq/worker";
import { afterAll, describe, expect, it } from "vitest";
import { mongoTransport } from "../src/index.js";
import { countIn, dateOf, TestDatabase } from "./support/mongo.js";

const database = new TestDatabase("transport");

afterAll(() => database.drop());

describe("mongoTransport in an app", () => {
  it("runs a task end to end with a worker, the app's transport options applied", async () => {
    const app = createApp({
      broker: database.url,
      resultBackend: database.url,
      transports: [mongoTransport],
      env: false,
      resultExpires: 120,
      brokerTransportOptions: { collection: "tq_messages", visibility_timeout: 600 },
      resultBackendTransportOptions: { taskmeta_collection: "tq_taskmeta" },
    });
    const add = app.task("transport.add", (x: number, y: number) => x + y);
    const queue = `q-${randomUUID().slice(0, 8)}`;
    const sent = await add.applyAsync([2, 8], {}, { queue }).sent;
    // The message waits in the configured collection, a document of its queue.
    const waiting = await database.db.collection("tq_messages").findOne({ queue });
    expect(waiting).toMatchObject({ queue, owner: null, deliveries: 0 });
    const worker = createWorker(app, { queues: [queue], concurrency: 2 });
    await worker.start();
    try {
      expect(await sent.get({ timeout: 10 })).toBe(10);
      const stored = await database.db.collection("tq_taskmeta").findOne({ _id: sent.id as never });
      expect(stored?.status).toBe("SUCCESS");
      expect(stored?.result).toBe("10");
      // resultExpires (120 s) became the document's TTL date.
      const ttlMs = dateOf(stored?.tq_expires_at).getTime() - Date.now();
      expect(ttlMs).toBeGreaterThan(100_000);
      expect(ttlMs).toBeLessThanOrEqual(120_000);
      expect(await countIn(database.db.collection("tq_messages"), { queue })).toBe(0);
    } finally {
      await worker.stop();
      await app.close();
    }
  });

  it("serves mongodb:// and mongodb+srv:// for brokers and backends", () => {
    expect(mongoTransport.schemes).toEqual(["mongodb", "mongodb+srv"]);
    expect(mongoTransport.createBroker).toBeTypeOf("function");
    expect(mongoTransport.createBackend).toBeTypeOf("function");
  });
});
