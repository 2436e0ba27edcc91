/**
 * The transport plugin as an application meets it: `createApp` with amqp:// and rpc:// URLs, the
 * plugin registered, and the app's transport options, in Celery's spellings, reaching the broker.
 */
import { createApp, TqError } from "@tq/core";
import { createWorker } from "@tq/worker";
import amqplib from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { amqpTransport } from "../src/index.js";
import { translateTransportOptions } from "../src/transport-options.js";
import { amqpTestUrl, ensureTestVhost, uniqueName } from "./support/amqp-server.js";

const queue = uniqueName("transport");

beforeAll(() => ensureTestVhost());

afterAll(async () => {
  const model = await amqplib.connect(amqpTestUrl());
  const channel = await model.createChannel();
  await channel.deleteQueue(queue);
  await model.close();
});

describe("amqpTransport in an app", () => {
  it("runs a task end to end over amqp:// and rpc://, with Celery's option names applied", async () => {
    const settings = {
      broker: amqpTestUrl().replace(/^amqp:/, "pyamqp:"),
      resultBackend: "rpc://",
      transports: [amqpTransport],
      env: false as const,
      brokerTransportOptions: { max_priority: 10, confirm_publish: true, connect_timeout: 5 },
    };
    const client = createApp(settings);
    const workerApp = createApp(settings);
    const add = client.task("transport.add", (x: number, y: number) => x + y);
    workerApp.task("transport.add", (x: number, y: number) => x + y);
    const worker = createWorker(workerApp, { queues: [queue], concurrency: 2 });
    await worker.start();
    try {
      const sent = await add.applyAsync([2, 8], {}, { queue, priority: 5 }).sent;
      expect(await sent.get({ timeout: 10 })).toBe(10);
      // max_priority reached the broker: the queue exists with x-max-priority 10, so declaring it
      // again with the same arguments succeeds (other arguments would close the channel).
      const model = await amqplib.connect(amqpTestUrl());
      const channel = await model.createChannel();
      await channel.assertQueue(queue, { durable: true, arguments: { "x-max-priority": 10 } });
      await model.close();
    } finally {
      await worker.stop();
      await Promise.all([client.close(), workerApp.close()]);
    }
  });

  it("refuses rpc:// as a broker and amqp:// as a result backend, saying what to use", async () => {
    const failure = async (get: () => Promise<unknown>): Promise<string> => {
      try {
        await get();
        return "no error";
      } catch (error) {
        return TqError.is(error) ? `${error.code}: ${error.message}` : String(error);
      }
    };
    const base = { transports: [amqpTransport], env: false as const };
    const rpcBroker = createApp({ ...base, broker: "rpc://" });
    expect(await failure(() => rpcBroker.getBroker())).toMatch(/^TQ_CONFIG: .*use amqp:\/\//);
    const amqpBackend = createApp({ ...base, broker: amqpTestUrl(), resultBackend: amqpTestUrl() });
    expect(await failure(() => amqpBackend.getBackend())).toMatch(/^TQ_CONFIG: .*use rpc:\/\//);
    await Promise.all([rpcBroker.close(), amqpBackend.close()]);
  });
});

describe("translateTransportOptions", () => {
  it("maps kombu's spellings and passes the rest through", () => {
    expect(
      translateTransportOptions({
        confirm_publish: false,
        connect_timeout: 4,
        max_priority: 9,
        publishTimeoutMs: 100,
      }),
    ).toEqual({ noPublisherConfirms: true, connectTimeoutMs: 4_000, maxPriority: 9, publishTimeoutMs: 100 });
    expect(translateTransportOptions(undefined)).toEqual({});
  });
});
