/**
 * The transport plugin as an application meets it: `createApp` with an sqs:// URL and sqsTransport,
 * kombu's transport option names applied, a worker running a task end to end (MemoryBackend, in process).
 */
import { createApp, MemoryBackend } from "@tq/core";
import { createWorker } from "@tq/worker";
import { afterAll, describe, expect, it } from "vitest";
import { sqsTransport } from "../src/index.js";
import { onFauxqs, RawSqs, sqsEndpoint, uniqueName } from "./support/sqs.js";

const prefix = `${uniqueName("app")}-`;
const raw = new RawSqs(prefix);
const queue = "work.items";

afterAll(async () => {
  await raw.deleteQueues([queue]);
  raw.close();
});

describe("sqsTransport in an app", () => {
  it("runs a task end to end with kombu's transport options applied", async () => {
    const endpoint = new URL(sqsEndpoint());
    const auth = onFauxqs() ? "test:test@" : "";
    const app = createApp({
      broker: `sqs://${auth}${endpoint.host}`,
      resultBackend: new MemoryBackend(),
      transports: [sqsTransport],
      env: false,
      brokerTransportOptions: { queue_name_prefix: prefix, wait_time_seconds: 1, visibility_timeout: 120 },
    });
    const add = app.task("transport.add", (x: number, y: number) => x + y);
    const sent = await add.applyAsync([2, 8], {}, { queue }).sent;
    // Under kombu's name: prefix + queue with "." → "-", created with the visibility timeout.
    expect(await raw.url(queue)).toMatch(/-work-items$/);
    expect((await raw.attributes(queue, ["VisibilityTimeout"])).VisibilityTimeout).toBe("120");
    const worker = createWorker(app, { queues: [queue], concurrency: 2 });
    await worker.start();
    try {
      expect(await sent.get({ timeout: 10 })).toBe(10);
    } finally {
      await worker.stop();
      await app.close();
    }
  });
});
