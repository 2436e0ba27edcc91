import { MongoBulkWriteError, MongoServerError, ObjectId } from "mongodb";
import { describe, expect, it } from "vitest";
import { useServer } from "./helpers.js";

const env = useServer();

describe("insert", () => {
  it("keeps string _ids and generates ObjectIds", async () => {
    const tasks = env.db.collection("crud_ids");
    await tasks.insertOne({ _id: "task-1" as unknown as ObjectId, status: "PENDING" });
    const generated = await tasks.insertOne({ status: "SUCCESS" });
    expect(generated.insertedId).toBeInstanceOf(ObjectId);
    expect(await tasks.findOne({ _id: "task-1" as unknown as ObjectId })).toEqual({
      _id: "task-1",
      status: "PENDING",
    });
    // A raw insert without _id: the server generates it, as the first field.
    await env.db.command({ insert: "crud_ids", documents: [{ status: "RAW" }] });
    const raw = await tasks.findOne({ status: "RAW" });
    expect(Object.keys(raw!)[0]).toBe("_id");
    expect(raw!._id).toBeInstanceOf(ObjectId);
  });

  it("reports duplicate _ids as writeErrors, stopping only when ordered", async () => {
    const coll = env.db.collection<{ _id: string }>("crud_ordered");
    await coll.insertOne({ _id: "a" });
    const ordered = await coll.insertMany([{ _id: "b" }, { _id: "a" }, { _id: "c" }]).catch((e) => e);
    expect(ordered).toBeInstanceOf(MongoBulkWriteError);
    expect(ordered.insertedCount).toBe(1);
    expect(ordered.writeErrors[0]).toMatchObject({ index: 1, code: 11000 });
    const unordered = await coll
      .insertMany([{ _id: "d" }, { _id: "a" }, { _id: "e" }], { ordered: false })
      .catch((e) => e);
    expect(unordered.insertedCount).toBe(2);
    expect(await coll.countDocuments()).toBe(4);
  });
});

describe("update", () => {
  it("applies $set, $inc, $unset and $push and counts nModified", async () => {
    const coll = env.db.collection<{ _id: ObjectId; n: number; tag?: string; list?: number[] }>(
      "crud_update",
    );
    await coll.insertMany([
      { _id: 1 as unknown as ObjectId, n: 1, tag: "x", list: [1] },
      { _id: 2 as unknown as ObjectId, n: 1, tag: "x" },
    ]);
    const one = await coll.updateOne(
      { _id: 1 as unknown as ObjectId },
      {
        $set: { "meta.by": "w1" },
        $inc: { n: 2 },
        $unset: { tag: "" },
        $push: { list: { $each: [2, 3] } },
      },
    );
    expect(one).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
    expect(await coll.findOne({ _id: 1 as unknown as ObjectId })).toEqual({
      _id: 1,
      n: 3,
      list: [1, 2, 3],
      meta: { by: "w1" },
    });
    const many = await coll.updateMany({ tag: { $exists: true } }, { $set: { tag: "x" } });
    expect(many).toMatchObject({ matchedCount: 1, modifiedCount: 0 });
  });

  it("upserts with the filter's equalities and $setOnInsert", async () => {
    const coll = env.db.collection("crud_upsert");
    const first = await coll.updateOne(
      { _id: "k" as unknown as ObjectId, kind: "lock" },
      { $set: { owner: "a" }, $setOnInsert: { created: 1 } },
      { upsert: true },
    );
    expect(first).toMatchObject({ upsertedCount: 1, upsertedId: "k", matchedCount: 0 });
    const second = await coll.updateOne(
      { _id: "k" as unknown as ObjectId },
      { $set: { owner: "b" }, $setOnInsert: { created: 2 } },
      { upsert: true },
    );
    expect(second).toMatchObject({ upsertedCount: 0, matchedCount: 1, modifiedCount: 1 });
    expect(await coll.findOne({})).toEqual({ _id: "k", kind: "lock", owner: "b", created: 1 });
  });

  it("replaces whole documents, keeping _id, and refuses to change _id", async () => {
    const coll = env.db.collection("crud_replace");
    await coll.insertOne({ _id: "r" as unknown as ObjectId, a: 1, b: 2 });
    await coll.replaceOne({ _id: "r" as unknown as ObjectId }, { c: 3 });
    expect(await coll.findOne({})).toEqual({ _id: "r", c: 3 });
    await coll.replaceOne({ _id: "u" as unknown as ObjectId }, { d: 4 }, { upsert: true });
    expect(await coll.findOne({ _id: "u" as unknown as ObjectId })).toEqual({ _id: "u", d: 4 });
    await expect(
      coll.updateOne({ _id: "r" as unknown as ObjectId }, { $set: { _id: "other" } }),
    ).rejects.toMatchObject({ code: 66 });
  });

  it("rejects unknown modifiers and non-numeric $inc with MongoDB's codes", async () => {
    const coll = env.db.collection("crud_bad_update");
    await coll.insertOne({ _id: "x" as unknown as ObjectId, s: "text" });
    await expect(coll.updateOne({}, { $frob: { a: 1 } } as never)).rejects.toMatchObject({ code: 9 });
    const error = await coll.updateOne({}, { $inc: { s: 1 } }).catch((e) => e);
    expect(error).toBeInstanceOf(MongoServerError);
    expect(error.code).toBe(14);
  });
});

describe("delete and distinct", () => {
  it("deletes one or many", async () => {
    const coll = env.db.collection("crud_delete");
    await coll.insertMany([{ k: 1 }, { k: 1 }, { k: 1 }, { k: 2 }]);
    expect((await coll.deleteOne({ k: 1 })).deletedCount).toBe(1);
    expect((await coll.deleteMany({ k: 1 })).deletedCount).toBe(2);
    expect((await coll.deleteMany({ k: 9 })).deletedCount).toBe(0);
    expect(await coll.countDocuments()).toBe(1);
    expect((await env.db.collection("crud_never").deleteMany({})).deletedCount).toBe(0);
  });

  it("lists distinct values, array elements singly", async () => {
    const coll = env.db.collection("crud_distinct");
    await coll.insertMany([{ q: "a", t: ["x", "y"] }, { q: "b", t: "x" }, { q: "a" }]);
    expect((await coll.distinct("q")).sort()).toEqual(["a", "b"]);
    expect((await coll.distinct("t", { q: "a" })).sort()).toEqual(["x", "y"]);
  });
});
