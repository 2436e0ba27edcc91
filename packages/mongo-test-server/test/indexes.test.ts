import { MongoServerError } from "mongodb";
import { describe, expect, it } from "vitest";
import { useServer } from "./helpers.js";

const env = useServer({ ttlMonitorIntervalMs: 100 });

describe("unique indexes", () => {
  it("refuses duplicates on insert, update and upsert with 11000 and the key", async () => {
    const coll = env.db.collection("index_unique");
    await coll.createIndex({ queue: 1, key: 1 }, { unique: true, name: "queue_key" });
    await coll.insertOne({ queue: "q", key: "a" });
    const insertError = await coll.insertOne({ queue: "q", key: "a" }).catch((e) => e);
    expect(insertError).toBeInstanceOf(MongoServerError);
    expect(insertError).toMatchObject({
      code: 11000,
      keyPattern: { queue: 1, key: 1 },
      keyValue: { queue: "q", key: "a" },
    });
    expect(insertError.message).toBe(
      'E11000 duplicate key error collection: tq_test.index_unique index: queue_key dup key: { queue: "q", key: "a" }',
    );
    await coll.insertOne({ queue: "q", key: "b" });
    await expect(coll.updateOne({ key: "b" }, { $set: { key: "a" } })).rejects.toMatchObject({ code: 11000 });
    await expect(
      coll.updateOne({ queue: "q", key: "a", missing: true }, { $set: { n: 1 } }, { upsert: true }),
    ).rejects.toMatchObject({ code: 11000 });
    await expect(coll.findOneAndUpdate({ key: "b" }, { $set: { key: "a" } })).rejects.toMatchObject({
      code: 11000,
      codeName: "DuplicateKey",
      keyValue: { queue: "q", key: "a" },
    });
    // The failed writes left nothing behind.
    expect(await coll.countDocuments()).toBe(2);
    expect(await coll.findOne({ key: "b" })).toMatchObject({ key: "b" });
  });

  it("will not build a unique index over duplicates", async () => {
    const coll = env.db.collection("index_unique_build");
    await coll.insertMany([{ k: 1 }, { k: 1 }]);
    await expect(coll.createIndex({ k: 1 }, { unique: true })).rejects.toMatchObject({ code: 11000 });
    expect((await coll.listIndexes().toArray()).map((spec) => spec.name)).toEqual(["_id_"]);
  });

  it("lists, recreates idempotently and drops indexes", async () => {
    const coll = env.db.collection("index_list");
    expect(await coll.createIndex({ a: 1 })).toBe("a_1");
    expect(await coll.createIndex({ a: 1 })).toBe("a_1");
    await coll.createIndex({ b: -1 }, { unique: true });
    expect(await coll.listIndexes().toArray()).toEqual([
      { v: 2, key: { _id: 1 }, name: "_id_" },
      { v: 2, key: { a: 1 }, name: "a_1" },
      { v: 2, key: { b: -1 }, name: "b_-1", unique: true },
    ]);
    await expect(coll.createIndex({ a: 1 }, { name: "other" })).rejects.toMatchObject({ code: 85 });
    await coll.dropIndex("a_1");
    await expect(coll.dropIndex("a_1")).rejects.toMatchObject({ code: 27, codeName: "IndexNotFound" });
    await expect(coll.dropIndex("_id_")).rejects.toMatchObject({ code: 72 });
    await coll.dropIndexes();
    expect((await coll.listIndexes().toArray()).map((spec) => spec.name)).toEqual(["_id_"]);
    await expect(env.db.collection("index_none").listIndexes().toArray()).rejects.toMatchObject({
      code: 26,
      codeName: "NamespaceNotFound",
    });
  });
});

describe("TTL indexes", () => {
  it("deletes documents once their date is older than expireAfterSeconds", async () => {
    const coll = env.db.collection("index_ttl");
    await coll.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0 });
    const now = Date.now();
    await coll.insertMany([
      { name: "past", expiresAt: new Date(now - 1_000) },
      { name: "soon", expiresAt: new Date(now + 300) },
      { name: "later", expiresAt: new Date(now + 60_000) },
      { name: "no date", expiresAt: "tomorrow" },
    ]);
    await waitFor(async () => (await coll.countDocuments({ name: "past" })) === 0);
    await waitFor(async () => (await coll.countDocuments({ name: "soon" })) === 0);
    expect((await coll.find({}).toArray()).map((doc) => doc.name).sort()).toEqual(["later", "no date"]);
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
