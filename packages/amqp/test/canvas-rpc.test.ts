/**
 * Canvas on RabbitMQ with the rpc:// backend, client and worker apps each with their own reply queue:
 * a chain's last result reaches the caller (each worker passes the caller's `reply_to` on, as Celery
 * freezes it into every step), a group works, and a chord is refused as Celery's
 * `ensure_chords_allowed` refuses it: rpc:// stores nothing a chord counter could live in.
 */
import { randomUUID } from "node:crypto";
import { type App, chain, chord, createApp, group, TqError } from "@tq/core";
import { createWorker } from "@tq/worker";
import type { ChannelModel } from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AmqpBroker } from "../src/broker.js";
import { RpcBackend } from "../src/rpc-backend.js";
import { AMQP_URL, rawConnection, runPrefix } from "./support/rpc-amqp.js";

const run = runPrefix("canvas");
const queue = `${run}-${randomUUID().slice(0, 8)}`;
const cleanups: (() => Promise<unknown>)[] = [];
let raw: ChannelModel;
let client: App;

function appFor(side: string): App {
  const broker = new AmqpBroker({ url: AMQP_URL, connectionName: `${run}-${side}-broker` });
  const backend = new RpcBackend({ url: AMQP_URL, connectionName: `${run}-${side}` });
  const app = createApp({ env: false, taskDefaultQueue: queue, broker, resultBackend: backend });
  app.task("rpc.add", (x: number, y: number) => x + y);
  app.task("rpc.tsum", (values: number[]) => values.reduce((sum, value) => sum + value, 0));
  cleanups.push(
    () => app.close(),
    () => backend.close(),
    () => broker.close(),
  );
  return app;
}

beforeAll(async () => {
  raw = await rawConnection(`${run}-probe`);
  const worker = createWorker(appFor("worker"), { queues: [queue], concurrency: 2, deadLetterQueue: null });
  cleanups.unshift(() => worker.stop({ timeoutMs: 2_000 }));
  await worker.start();
  client = appFor("client");
}, 30_000);

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup().catch(() => {});
  const channel = await raw.createChannel();
  await channel.deleteQueue(queue).catch(() => {});
  await raw.close();
});

const add = (x: number, y?: number) => client.tasks.get("rpc.add")!.signature(y === undefined ? [x] : [x, y]);

describe("canvas with rpc:// on RabbitMQ", () => {
  it("a chain's last result reaches the caller's reply queue", async () => {
    const result = chain(add(1, 1), add(2), add(3)).applyAsync();
    expect(await result.get({ timeout: 15 })).toBe(7);
  });

  it("a group's results come back in order", async () => {
    expect(await group(add(1, 1), add(2, 2), add(3, 3)).applyAsync().get({ timeout: 15 })).toEqual([2, 4, 6]);
  });

  it("a chord is refused with TQ_CONFIG, and nothing is sent", async () => {
    const tsum = client.tasks.get("rpc.tsum")!.signature();
    const result = chord([add(1, 1), add(2, 2)], tsum).applyAsync();
    const error = await result.sent.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(TqError.is(error, "TQ_CONFIG")).toBe(true);
    expect(String((error as Error).message)).toMatch(/does not support chords/);
  });
});
