/**
 * @tq/beat on Redis (DB 9): the schedule store's contract, a restart that neither repeats nor skips a
 * run, and two beat processes of which the leader is killed with SIGKILL: the other takes over within
 * the lease TTL, no run is sent twice and none is lost beyond the takeover.
 */
import { randomUUID } from "node:crypto";
import path from "node:path";
import { type BeatEvents, createBeat, every } from "@tq/beat";
import { createApp } from "@tq/core";
import { runScheduleStoreConformance } from "@tq/transport-tests";
import { Redis } from "ioredis";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { RedisScheduleStore, redisTransport } from "../src/index.js";
import { ManagedProcess, PACKAGE_DIR, stopAll } from "./support/interop-processes.js";
import { startPythonWorker } from "./support/interop-python.js";
import { testRedisUrl } from "./support/interop-tq.js";

const url = testRedisUrl(9);
const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });

/** Deletes a namespace's store keys and, if given, a queue. */
async function cleanup(namespace: string, queue?: string): Promise<void> {
  const keys = await probe.keys(`{tq:beat:${namespace}}:*`);
  if (queue) keys.push(queue);
  if (keys.length > 0) await probe.del(...keys);
}

afterAll(async () => {
  await stopAll();
  probe.disconnect();
});

runScheduleStoreConformance({
  name: "redis",
  createStore: (namespace) => new RedisScheduleStore({ url, namespace }),
  cleanup: (namespace) => cleanup(namespace),
});

describe("beat on Redis", () => {
  const names: string[] = [];
  afterEach(async () => {
    for (const name of names.splice(0)) await cleanup(name, `beat-${name}`);
  });

  function makeApp(interval: string) {
    const name = `beat-test-${randomUUID().slice(0, 8)}`;
    names.push(name);
    return createApp({
      name,
      broker: url,
      resultBackend: null,
      env: false,
      transports: [redisTransport],
      beatSchedule: {
        tick: { task: "tasks.tick", schedule: every(interval), options: { queue: `beat-${name}` } },
      },
    });
  }

  it("the store URL reaches the Redis transport's schedule store, keyed by the app's name", async () => {
    const app = makeApp("1h");
    const beat = createBeat(app, { store: url });
    expect(beat.store).toBeInstanceOf(RedisScheduleStore);
    expect(beat.store.description).toBe(`${url} {tq:beat:${app.name}}`);
    await beat.start();
    expect(await probe.exists(`{tq:beat:${app.name}}:lease`)).toBe(1);
    await beat.stop();
    expect(await probe.exists(`{tq:beat:${app.name}}:lease`)).toBe(0);
    await app.close();
  });

  it("a restarted beat continues from the recorded run: no run repeated, none skipped", async () => {
    const app = makeApp("400ms");
    const sends: BeatEvents["sent"][] = [];
    const first = createBeat(app, { store: url });
    first.on("sent", (event) => sends.push(event));
    await first.start();
    await until(() => sends.length >= 3, "three runs");
    await first.stop();
    const before = sends.length;
    const second = createBeat(app, { store: url });
    second.on("sent", (event) => sends.push(event));
    await second.start();
    await until(() => sends.length >= before + 3, "three more runs");
    await second.stop();
    const due = sends.map((send) => send.dueAt.getTime());
    for (let i = 1; i < due.length; i += 1)
      expect((due[i] as number) - (due[i - 1] as number)).toBeGreaterThanOrEqual(400);
    expect((due[before] as number) - (due[before - 1] as number)).toBe(400);
    // Exactly the messages recorded: one per run.
    expect(await probe.llen(`beat-${app.name}`)).toBe(sends.length);
    expect(await probe.hget(`{tq:beat:${app.name}}:runs`, "tick")).toBe(String(sends.length));
    await app.close();
  }, 60_000);

  it("two beat processes: the leader killed with SIGKILL, the other takes over; no run twice, none lost", async () => {
    const name = `beat-ha-${randomUUID().slice(0, 8)}`;
    names.push(name);
    const queue = `beat-${name}`;
    const ttlMs = 3000;
    const child = path.join(PACKAGE_DIR, "test/support/beat-child.mjs");
    const start = (label: string) =>
      new ManagedProcess(label, process.execPath, [child, url, name, queue, "1", String(ttlMs)], {
        cwd: PACKAGE_DIR,
      });
    const first = start("beat-1");
    await first.waitForOutput(/"started leading"/, 20_000);
    const second = start("beat-2");
    await second.waitForOutput(/"started waiting"/, 20_000);
    await first.waitForOutput(/("event":"sent".*\n.*){3}/, 20_000);
    await first.kill();
    const killedAt = Date.now();
    await second.waitForOutput(/"event":"leader"/, 20_000);
    await second.waitForOutput(/("event":"sent".*\n.*){3}/, 20_000);
    await second.stop();

    type Line = { event: string; at: number; taskId?: string; dueAt?: number };
    const lines = (output: string): Line[] =>
      output
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as Line);
    const sentBy = (output: string) => lines(output).filter((line) => line.event === "sent");
    const firstSent = sentBy(first.stdout);
    const secondSent = sentBy(second.stdout);
    const messages = (await probe.lrange(queue, 0, -1)).map(
      (raw) => (JSON.parse(raw) as { headers: { id: string; periodic_task_name: string } }).headers,
    );

    // No run sent twice: every message a distinct task, every reported due time distinct.
    const ids = messages.map((headers) => headers.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(messages.every((headers) => headers.periodic_task_name === "tick")).toBe(true);
    const due = [...firstSent, ...secondSent].map((line) => line.dueAt as number);
    expect(new Set(due).size).toBe(due.length);
    // Every reported send is in the queue; the killed beat may have published one more it could not report.
    const reported = new Set([...firstSent, ...secondSent].map((line) => line.taskId));
    expect([...reported].every((id) => ids.includes(id as string))).toBe(true);
    expect(ids.length - reported.size).toBeLessThanOrEqual(1);
    // None lost beyond the takeover: the new leader's first run is the one after the last recorded one
    // (the killed leader's last reported run, or one after it that it published unreported, or, if the
    // kill fell between recording a run and publishing it, that run: recorded first, it is not sent
    // again, the at-most-once side of "never twice").
    const recorded = Number(await probe.hget(`{tq:beat:${name}}:runs`, "tick"));
    const recordedNotSent = recorded - ids.length;
    expect(recordedNotSent === 0 || recordedNotSent === 1).toBe(true);
    const lastOfFirst = firstSent.at(-1)?.dueAt as number;
    const firstOfSecond = secondSent[0] as Line;
    const unreported = ids.length - reported.size;
    expect(firstOfSecond.dueAt).toBe(lastOfFirst + 1000 * (1 + unreported + recordedNotSent));
    // …and it came within the lease TTL of the kill (plus the interval and a loaded machine's slack).
    expect(firstOfSecond.at - killedAt).toBeLessThan(ttlMs + 1000 + 5000);
    // After the takeover, one run per second.
    for (let i = 1; i < secondSent.length; i += 1) {
      expect((secondSent[i]?.dueAt as number) - (secondSent[i - 1]?.dueAt as number)).toBeGreaterThanOrEqual(
        1000,
      );
    }
  }, 90_000);
});

describe("beat → Python Celery worker", () => {
  it("a run beat sends is a Celery task message: a Python Celery worker runs add(16, 16) and stores 32", async () => {
    const name = `beat-py-${randomUUID().slice(0, 8)}`;
    const queue = `beat-${name}`;
    await startPythonWorker({ broker: url, resultBackend: url, queue }, { hostname: `${name}@test` });
    const app = createApp({
      name,
      broker: url,
      resultBackend: url,
      env: false,
      transports: [redisTransport],
      beatSchedule: {
        "add every 30 seconds": {
          task: "tasks.add",
          schedule: every("1s"),
          args: [16, 16],
          options: { queue, expires: 60 },
        },
      },
    });
    const beat = createBeat(app, { store: url });
    const sends: BeatEvents["sent"][] = [];
    beat.on("sent", (event) => sends.push(event));
    try {
      await beat.start();
      await until(() => sends.length >= 1, "a run");
      const result = app.asyncResult<number>(sends[0]?.taskId as string);
      expect(await result.get({ timeout: 20 })).toBe(32);
    } finally {
      await beat.stop();
      await app.close();
      await cleanup(name, queue);
      await stopAll();
    }
  }, 60_000);
});

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
