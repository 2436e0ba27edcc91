/**
 * The result documents, read raw with the driver and compared field by field with what Celery 5's
 * `celery/backends/mongodb.py` writes (`_store_result`: `replace_one({'_id': id}, meta, upsert=True)`
 * with `meta = _get_result_meta(result=self.encode(result), …, format_date=False)`; `_save_group`),
 * documents written the way Celery writes them read back through tq, and TTL expiry by the server.
 */
import type { TaskMeta } from "@tq/core";
import { afterAll, describe, expect, it } from "vitest";
import { MongoBackend } from "../src/backend.js";
import { dateOf, realMongo, TestDatabase } from "./support/mongo.js";

const database = new TestDatabase("celerylayout");
const backends: MongoBackend[] = [];

afterAll(async () => {
  await Promise.allSettled(backends.map((backend) => backend.close()));
  await database.drop();
});

function backend(options: Partial<ConstructorParameters<typeof MongoBackend>[0]> = {}): MongoBackend {
  const created = new MongoBackend({ url: database.url, ...options });
  backends.push(created);
  return created;
}

describe("MongoBackend documents in Celery's layout", () => {
  it("writes celery_taskmeta documents field by field as Celery's MongoDB backend does", async () => {
    const meta: TaskMeta = {
      task_id: "layout-task-1",
      status: "SUCCESS",
      result: { answer: 42, text: "två 键" },
      traceback: null,
      children: [[["child-1", null], null]],
      date_done: "2030-01-02T03:04:05.678000+00:00",
      parent_id: "parent-1",
      name: "tasks.add",
      args: [2, 8],
      kwargs: { key: "value" },
      worker: "celery@host",
      retries: 0,
      queue: "celery",
    };
    await backend().store(meta);
    const document = await database.db
      .collection("celery_taskmeta")
      .findOne({ _id: "layout-task-1" as never });
    expect(document).not.toBeNull();
    // Celery's own fields, in its order; tq's TTL field last.
    expect(Object.keys(document ?? {})).toEqual([
      "_id",
      "status",
      "result",
      "traceback",
      "children",
      "date_done",
      "parent_id",
      "name",
      "args",
      "kwargs",
      "worker",
      "retries",
      "queue",
      "tq_expires_at",
    ]);
    expect(document?._id).toBe("layout-task-1");
    expect(document?.status).toBe("SUCCESS");
    // self.encode(result) with the json serializer: a JSON string, decoded by self.decode on read.
    expect(typeof document?.result).toBe("string");
    expect(JSON.parse(document?.result)).toEqual({ answer: 42, text: "två 键" });
    expect(document?.traceback).toBeNull();
    // children, args, kwargs and the other extended fields are BSON values, not encoded.
    expect(document?.children).toEqual([[["child-1", null], null]]);
    expect(document?.args).toEqual([2, 8]);
    expect(document?.kwargs).toEqual({ key: "value" });
    // date_done is a BSON Date (Celery ≥ 5.3.4 writes app.now(), a datetime).
    expect(document?.date_done).toBeInstanceOf(Date);
    expect(dateOf(document?.date_done).toISOString()).toBe("2030-01-02T03:04:05.678Z");
    // A Date holds this date_done exactly: no tq_date_done copy.
    expect(document).not.toHaveProperty("tq_date_done");
    expect(document?.tq_expires_at).toBeInstanceOf(Date);
  });

  it("keeps a date_done a Date cannot hold exactly beside the Date, and reads it back", async () => {
    const store = backend();
    const meta: TaskMeta = {
      task_id: "layout-micro",
      status: "FAILURE",
      result: { exc_type: "ValueError", exc_message: ["boom"], exc_module: "builtins" },
      traceback: "Traceback (most recent call last):\nValueError: boom",
      children: [],
      date_done: "2030-01-02T03:04:05.678901+00:00",
    };
    await store.store(meta);
    const document = await database.db
      .collection("celery_taskmeta")
      .findOne({ _id: "layout-micro" as never });
    expect(dateOf(document?.date_done).toISOString()).toBe("2030-01-02T03:04:05.678Z");
    expect(document?.tq_date_done).toBe("2030-01-02T03:04:05.678901+00:00");
    expect(JSON.parse(document?.result)).toEqual(meta.result);
    expect(await store.get("layout-micro")).toEqual(meta);
  });

  it("reads documents and groups written the way Python Celery writes them", async () => {
    const doneAt = new Date("2026-11-24T00:24:42.849Z");
    // What pymongo stores for Celery 5's replace_one(meta) (result_extended off) and _save_group.
    await database.db.collection("celery_taskmeta").insertOne({
      _id: "python-task-1" as never,
      status: "SUCCESS",
      result: '[4, {"y": 5}]',
      traceback: null,
      children: [],
      date_done: doneAt,
    });
    await database.db.collection("celery_groupmeta").insertOne({
      _id: "python-group-1" as never,
      result: '["python-task-1", "python-task-2"]',
      date_done: doneAt,
    });
    const reader = backend();
    expect(await reader.get("python-task-1")).toEqual({
      task_id: "python-task-1",
      status: "SUCCESS",
      result: [4, { y: 5 }],
      traceback: null,
      children: [],
      date_done: "2026-11-24T00:24:42.849000+00:00",
    });
    expect(await reader.waitFor("python-task-1", { timeoutMs: 1_000 })).toMatchObject({
      result: [4, { y: 5 }],
    });
    expect(await reader.getGroup("python-group-1")).toEqual(["python-task-1", "python-task-2"]);
  });

  it("writes celery_groupmeta documents as Celery's _save_group does", async () => {
    await backend().saveGroup("layout-group-1", ["a", "b", "c"]);
    const document = await database.db
      .collection("celery_groupmeta")
      .findOne({ _id: "layout-group-1" as never });
    expect(Object.keys(document ?? {})).toEqual(["_id", "result", "date_done", "tq_expires_at"]);
    expect(JSON.parse(document?.result)).toEqual(["a", "b", "c"]);
    expect(document?.date_done).toBeInstanceOf(Date);
  });

  it(
    "the server's TTL monitor removes a document once its expiry passed",
    async () => {
      const store = backend({ resultExpiresMs: 500 });
      await store.store({
        task_id: "ttl-1",
        status: "SUCCESS",
        result: 1,
        traceback: null,
        children: [],
        date_done: new Date().toISOString(),
      });
      await store.store(
        { task_id: "ttl-kept", status: "SUCCESS", result: 2, traceback: null, children: [], date_done: null },
        { expiresMs: null },
      );
      const raw = database.db.collection("celery_taskmeta");
      expect(await raw.findOne({ _id: "ttl-1" as never })).not.toBeNull();
      // mongod's TTL monitor runs every 60 s; the test server's every 200 ms here.
      const deadline = Date.now() + (realMongo ? 75_000 : 5_000);
      while ((await raw.findOne({ _id: "ttl-1" as never })) !== null) {
        if (Date.now() > deadline) throw new Error("the TTL monitor did not remove the document");
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const kept = await raw.findOne({ _id: "ttl-kept" as never });
      expect(kept?.result).toBe("2");
      expect(kept).not.toHaveProperty("tq_expires_at");
    },
    realMongo ? 90_000 : 15_000,
  );

  it("never overwrites a SUCCESS, even with a later SUCCESS", async () => {
    const store = backend();
    const base = { traceback: null, children: [], date_done: new Date().toISOString() };
    await store.store({ task_id: "once", status: "SUCCESS", result: "first", ...base });
    await store.store({ task_id: "once", status: "SUCCESS", result: "second", ...base });
    const document = await database.db.collection("celery_taskmeta").findOne({ _id: "once" as never });
    expect(document?.result).toBe('"first"');
  });
});
