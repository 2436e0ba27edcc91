/**
 * The transport plugin as an application meets it: `createApp` with redis:// URLs, the plugin
 * registered, and the app's transport options (in Celery's names) reaching the broker and backend.
 * DB 12, keys under a run-unique prefix.
 */
import { randomUUID } from "node:crypto";
import { createApp } from "@tq/core";
import { createWorker } from "@tq/worker";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { redisTransport } from "../src/index.js";

const url = process.env.TQ_TEST_REDIS_URL ?? "redis://127.0.0.1:6379/12";
const prefix = `tqtp-${randomUUID().slice(0, 8)}:`;
const raw = new Redis(url);

afterAll(async () => {
  const keys = await raw.keys(`${prefix}*`);
  if (keys.length > 0) await raw.del(...keys);
  raw.disconnect();
});

describe("redisTransport in an app", () => {
  it("runs a task end to end with the app's transport options applied", async () => {
    const app = createApp({
      broker: url,
      resultBackend: url,
      transports: [redisTransport],
      env: false,
      resultExpires: 120,
      brokerTransportOptions: { global_keyprefix: prefix, visibility_timeout: 600 },
      resultBackendTransportOptions: { global_keyprefix: prefix },
    });
    const add = app.task("transport.add", (x: number, y: number) => x + y);
    const queue = `q-${randomUUID().slice(0, 8)}`;
    const sent = await add.applyAsync([2, 8], {}, { queue }).sent;
    // The message waits in the prefixed list, where a Celery worker with the same global_keyprefix looks.
    expect(await raw.llen(`${prefix}${queue}`)).toBe(1);
    const worker = createWorker(app, { queues: [queue], concurrency: 2 });
    await worker.start();
    try {
      expect(await sent.get({ timeout: 10 })).toBe(10);
      const ttl = await raw.ttl(`${prefix}celery-task-meta-${sent.id}`);
      expect(ttl).toBeGreaterThan(100);
      expect(ttl).toBeLessThanOrEqual(120);
    } finally {
      await worker.stop();
      await app.close();
    }
  });
});
