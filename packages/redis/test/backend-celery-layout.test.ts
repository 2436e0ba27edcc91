import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  backendFixture,
  stateDoc as meta,
  rawClient,
  redisUrl,
  sleep,
  taskKey,
} from "./support/backend-redis.js";

// DB 6 belongs to the backend layout tests (this file and its sibling). Ids and key prefixes carry a
// run-unique prefix, and only keys with it are deleted afterwards.
const f = backendFixture(6, "layout");
const { id } = f;
const backend = f.backend.bind(f);
const DB = f.db;
const run = f.run;

beforeAll(() => f.setup());
afterAll(() => f.teardown());

describe("task documents in Celery's layout", () => {
  it("stores the document with Celery's fields in Celery's order, SETEX 86400 by default", async () => {
    const taskId = id("doc");
    // Given in another order: the stored one must follow Celery's (task_id last).
    await backend().store({
      task_id: taskId,
      queue: "celery",
      retries: 0,
      worker: "w@h",
      kwargs: { y: 5 },
      args: [2, 3],
      name: "probe.add",
      parent_id: "p-1",
      group_id: "g-1",
      date_done: "2026-11-24T00:25:22.449230+00:00",
      children: [],
      traceback: null,
      result: 5,
      status: "SUCCESS",
    });
    const text = (await f.raw.get(taskKey(taskId))) as string;
    const doc = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(doc)).toEqual([
      "status",
      "result",
      "traceback",
      "children",
      "date_done",
      "queue",
      "retries",
      "worker",
      "kwargs",
      "args",
      "name",
      "parent_id",
      "group_id",
      "task_id",
    ]);
    expect(doc).toEqual({
      status: "SUCCESS",
      result: 5,
      traceback: null,
      children: [],
      date_done: "2026-11-24T00:25:22.449230+00:00",
      queue: "celery",
      retries: 0,
      worker: "w@h",
      kwargs: { y: 5 },
      args: [2, 3],
      name: "probe.add",
      parent_id: "p-1",
      group_id: "g-1",
      task_id: taskId,
    });
    expect(await f.raw.ttl(taskKey(taskId))).toBeGreaterThanOrEqual(86_399);
    expect(await f.raw.ttl(taskKey(taskId))).toBeLessThanOrEqual(86_400);
  });

  it("keeps documents forever with resultExpiresMs null; expiresMs overrides per document", async () => {
    const forever = backend({ resultExpiresMs: null });
    const [a, b, c] = [id("ttl"), id("ttl"), id("ttl")];
    await forever.store(meta(a, "SUCCESS", 1));
    await forever.store(meta(b, "SUCCESS", 2), { expiresMs: 60_000 });
    await backend().store(meta(c, "SUCCESS", 3), { expiresMs: 1_500 });
    expect(await f.raw.ttl(taskKey(a))).toBe(-1);
    expect(await f.raw.ttl(taskKey(b))).toBe(60);
    const pttl = await f.raw.pttl(taskKey(c));
    expect(pttl).toBeGreaterThan(1_000);
    expect(pttl).toBeLessThanOrEqual(1_500);
  });

  it("publishes the stored bytes on the key name", async () => {
    const taskId = id("pub");
    const subscriber = rawClient(DB);
    const received: string[] = [];
    subscriber.on("message", (channel: string, message: string) => received.push(`${channel}|${message}`));
    await subscriber.subscribe(taskKey(taskId));
    try {
      await backend().store(meta(taskId, "STARTED", { pid: 1, hostname: "h" }));
      await expect.poll(() => received.length).toBe(1);
      expect(received[0]).toBe(`${taskKey(taskId)}|${await f.raw.get(taskKey(taskId))}`);
    } finally {
      subscriber.disconnect();
    }
  });

  it("puts the key prefix on keys and channels, with Celery's `_` separator rule", async () => {
    const [a, b] = [id("pfx"), id("pfx")];
    const subscriber = rawClient(DB);
    const channels: string[] = [];
    subscriber.on("message", (channel: string) => channels.push(channel));
    await subscriber.subscribe(`${run}_${taskKey(a)}`, `${run}:${taskKey(b)}`);
    try {
      await backend({ keyPrefix: run }).store(meta(a, "SUCCESS", 1));
      await backend({ keyPrefix: `${run}:` }).store(meta(b, "SUCCESS", 2));
      expect(await f.raw.exists(`${run}_${taskKey(a)}`, `${run}:${taskKey(b)}`)).toBe(2);
      await expect.poll(() => channels.sort()).toEqual([`${run}:${taskKey(b)}`, `${run}_${taskKey(a)}`]);
      expect((await backend({ url: `${redisUrl(DB)}?global_keyprefix=${run}` }).get(a))?.result).toBe(1);
    } finally {
      subscriber.disconnect();
    }
  });

  it("never overwrites a SUCCESS, whoever wrote it, and publishes nothing for the refused write", async () => {
    const ours = id("keep");
    const python = id("keep-py");
    const reordered = id("keep-order");
    await f.raw.set(
      taskKey(python),
      `{"status": "SUCCESS", "result": 5, "traceback": null, "children": [], "date_done": "2026-11-24T00:25:22.449230", "task_id": "${python}"}`,
    );
    await f.raw.set(taskKey(reordered), JSON.stringify({ task_id: reordered, result: 7, status: "SUCCESS" }));
    const b = backend();
    await b.store(meta(ours, "SUCCESS", "first"));
    const before = await Promise.all([ours, python, reordered].map((t) => f.raw.get(taskKey(t))));
    const subscriber = rawClient(DB);
    let messages = 0;
    subscriber.on("message", () => messages++);
    await subscriber.subscribe(...[ours, python, reordered].map(taskKey));
    try {
      for (const taskId of [ours, python, reordered]) {
        await b.store(meta(taskId, "STARTED"));
        await b.store(
          meta(taskId, "FAILURE", { exc_type: "ValueError", exc_message: ["late"], exc_module: "builtins" }),
        );
        await b.store(meta(taskId, "SUCCESS", "again"));
      }
      expect(await Promise.all([ours, python, reordered].map((t) => f.raw.get(taskKey(t))))).toEqual(before);
      await sleep(100);
      expect(messages).toBe(0);
    } finally {
      subscriber.disconnect();
    }
  });
});

// Copied from celery-protocol.md §2.2/§2.3 (captured from Celery 5.2.6), with Python's separators.
const CAPTURED: Record<string, (taskId: string) => string> = {
  SUCCESS: (t) =>
    `{"status": "SUCCESS", "result": 5, "traceback": null, "children": [], "date_done": "2026-11-24T00:25:22.449230", "name": "probe.add", "args": [2, 3], "kwargs": {}, "worker": "probe_w1@vm", "retries": 0, "queue": "probe_q", "task_id": "${t}"}`,
  STARTED: (t) =>
    `{"status": "STARTED", "result": {"pid": 9607, "hostname": "probe_w1@vm"}, "traceback": null, "children": [], "date_done": null, "task_id": "${t}"}`,
  PROGRESS: (t) =>
    `{"status": "PROGRESS", "result": {"done": 1, "total": 2}, "traceback": null, "children": [], "date_done": null, "task_id": "${t}"}`,
  RETRY: (t) =>
    `{"status": "RETRY", "result": {"exc_type": "KeyError", "exc_message": ["again"], "exc_module": "builtins"}, "traceback": "Traceback (most recent call last):\\ncelery.exceptions.Retry: Retry in 1s: KeyError('again')\\n", "children": [[["aaaaaaaa-0000-0000-0000-000000000006", null], null]], "date_done": null, "task_id": "${t}"}`,
  REVOKED: (t) =>
    `{"status": "REVOKED", "result": {"exc_type": "TaskRevokedError", "exc_message": ["revoked"], "exc_module": "celery.exceptions"}, "traceback": null, "children": [], "date_done": "2026-11-24T00:25:22.449230", "task_id": "${t}"}`,
  FAILURE: (t) =>
    `{"status": "FAILURE", "result": {"exc_type": "ValueError", "exc_message": ["bad input"], "exc_module": "builtins"}, "traceback": "Traceback (most recent call last):\\nValueError: bad input\\n", "children": [], "date_done": "2026-11-24T00:25:22.449230", "parent_id": "b9ef198b-0000-0000-0000-000000000000", "task_id": "${t}"}`,
};

describe("documents written by Python Celery", () => {
  it("reads every captured state back as stored (naive date_done kept)", async () => {
    const b = backend();
    for (const [status, text] of Object.entries(CAPTURED)) {
      const taskId = id(`py-${status.toLowerCase()}`);
      await f.raw.set(taskKey(taskId), text(taskId));
      expect(await b.get(taskId)).toEqual(JSON.parse(text(taskId)));
    }
  });

  it("waitFor resolves for a captured FAILURE published as Celery publishes it", async () => {
    const taskId = id("py-wait");
    const b = backend();
    const waiting = b.waitFor(taskId, { timeoutMs: 5_000 });
    await sleep(50);
    const text = CAPTURED.FAILURE!(taskId);
    await f.raw.multi().setex(taskKey(taskId), 86_400, text).publish(taskKey(taskId), text).exec();
    expect(await waiting).toEqual(JSON.parse(text));
  });

  it("decodes kombu ≥5.3 tagged values and Python's NaN", async () => {
    const taskId = id("py-tagged");
    await f.raw.set(
      taskKey(taskId),
      `{"status": "SUCCESS", "result": {"at": {"__type__": "datetime", "__value__": "2026-11-24T00:25:22.449230+00:00"}, "raw": {"__type__": "bytes", "__value__": "hi"}, "id": {"__type__": "uuid", "__value__": {"hex": "0123456789abcdef0123456789abcdef"}}, "price": {"__type__": "decimal", "__value__": "1.10"}, "nan": NaN}, "traceback": null, "children": [], "date_done": {"__type__": "datetime", "__value__": "2026-11-24T00:25:22.449230+00:00"}, "task_id": "${taskId}"}`,
    );
    const read = await backend().get(taskId);
    expect(read?.result).toEqual({
      at: new Date("2026-11-24T00:25:22.449Z"),
      raw: new TextEncoder().encode("hi"),
      id: "01234567-89ab-cdef-0123-456789abcdef",
      price: "1.10",
      nan: Number.NaN,
    });
    expect(typeof read?.date_done).toBe("string");
    expect(new Date(read?.date_done as string).toISOString()).toBe("2026-11-24T00:25:22.449Z");
  });

  it("writes Dates as ISO strings and bytes as kombu's tagged base64", async () => {
    const taskId = id("values");
    const b = backend();
    await b.store(
      meta(taskId, "SUCCESS", { at: new Date("2030-01-02T03:04:05.678Z"), bytes: Uint8Array.from([0, 255]) }),
    );
    expect(JSON.parse((await f.raw.get(taskKey(taskId))) as string).result).toEqual({
      at: "2030-01-02T03:04:05.678000+00:00",
      bytes: { __type__: "base64", __value__: "AP8=" },
    });
    expect((await b.get(taskId))?.result).toEqual({
      at: "2030-01-02T03:04:05.678000+00:00",
      bytes: Uint8Array.from([0, 255]),
    });
  });
});
