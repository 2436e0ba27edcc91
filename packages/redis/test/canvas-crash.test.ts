/**
 * A chord survives a worker killed while one of its header members runs (Redis, DB 10, a queue of this
 * run, nothing flushed): the member's message (acks late) stays in kombu's `unacked` hash, another
 * worker restores it after the visibility timeout and runs it, and the body runs exactly once.
 */
import path from "node:path";
import { type App, type AsyncResult, chord, createApp, type GroupResult, signature } from "@tq/core";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisTransport } from "../src/index.js";
import { PACKAGE_DIR, stopAll, waitUntil } from "./support/interop-processes.js";
import { removeQueue, startTqWorker, testRedisUrl } from "./support/interop-tq.js";

const url = testRedisUrl(10);
const queue = `canvas.crash.${process.pid}`;
const key = `canvas.crash.journal.${process.pid}`;
const TQ_CANVAS_APP = path.join(PACKAGE_DIR, "test/interop/tq-canvas-app.ts");
// Short, so the survivor restores the dead worker's message soon; living workers refresh theirs.
const env = {
  TQ_TASK_DEFAULT_QUEUE: queue,
  TQ_BROKER_TRANSPORT_OPTIONS: JSON.stringify({ visibility_timeout: 2 }),
};

let app: App;
let redis: Redis;

beforeAll(() => {
  redis = new Redis(url, { maxRetriesPerRequest: 1 });
  app = createApp({
    name: "canvas-crash",
    broker: url,
    resultBackend: url,
    transports: [redisTransport],
    taskDefaultQueue: queue,
    env: false,
  });
});

afterAll(async () => {
  await app?.close();
  await stopAll();
  await removeQueue(url, queue);
  await redis.del(key);
  redis.disconnect();
}, 30_000);

describe("a chord and a crashed worker", () => {
  it("a worker killed while a header member runs: another finishes the chord, the body runs once", async () => {
    const doomed = await startTqWorker({
      app: TQ_CANVAS_APP,
      broker: url,
      resultBackend: url,
      queues: [queue],
      concurrency: 4,
      hostname: "tq-doomed@test",
      env,
    });
    const member = (n: number, ms: number) =>
      signature<number>("tasks.slow_member", { args: [n, key, ms], app });
    const body = signature<number[]>("tasks.journal_value", { args: [key], app });
    const result = chord([member(0, 0), member(1, 60_000), member(2, 0)], body).applyAsync();
    const header = result.parent as GroupResult<number[]>;
    // Members 0 and 2 are done and counted; member 1 is running, its message held unacked.
    expect(await header.results[0]!.get({ timeout: 30 })).toBe(0);
    expect(await header.results[2]!.get({ timeout: 30 })).toBe(2);
    await waitUntil(
      "member 1 runs",
      async () => ((await redis.lrange(key, 0, -1)).includes("tq:member:1") ? true : undefined),
      30_000,
    );
    await doomed.kill();
    expect(await (header.results[1] as AsyncResult).state()).toBe("PENDING");

    await startTqWorker({
      app: TQ_CANVAS_APP,
      broker: url,
      resultBackend: url,
      queues: [queue],
      hostname: "tq-survivor@test",
      env,
    });
    expect(await result.get({ timeout: 60 })).toEqual([0, 1, 2]);
    // Longer than a visibility timeout and a restore: a second body would have come by now.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    const entries = await redis.lrange(key, 0, -1);
    expect(entries.filter((entry) => entry === "tq:member:1")).toHaveLength(2);
    expect(entries.filter((entry) => entry.startsWith("tq:["))).toEqual(["tq:[0,1,2]"]);
  }, 120_000);
});
