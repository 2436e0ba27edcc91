import { describe, expect, it } from "vitest";
import { useServer } from "./helpers.js";

const env = useServer();

describe("aggregate and count", () => {
  it("counts with $match and $count, and through the driver's helpers", async () => {
    const coll = env.db.collection("agg_count");
    await coll.insertMany([
      { queue: "a", state: "ready" },
      { queue: "a", state: "claimed" },
      { queue: "a", state: "ready" },
      { queue: "b", state: "ready" },
    ]);
    const [counted] = await coll
      .aggregate([{ $match: { queue: "a", state: "ready" } }, { $count: "n" }])
      .toArray();
    expect(counted).toEqual({ n: 2 });
    expect(await coll.countDocuments({ queue: "a" })).toBe(3);
    expect(await coll.countDocuments({ queue: "a" }, { skip: 1, limit: 1 })).toBe(1);
    expect(await coll.estimatedDocumentCount()).toBe(4);
    expect((await env.db.command({ count: "agg_count", query: { state: "ready" } })).n).toBe(3);
    expect(await env.db.collection("agg_none").countDocuments()).toBe(0);
  });

  it("sorts, limits and groups", async () => {
    const coll = env.db.collection("agg_group");
    await coll.insertMany([
      { queue: "a", size: 3 },
      { queue: "b", size: 1 },
      { queue: "a", size: 5 },
    ]);
    const top = await coll
      .aggregate([{ $sort: { size: -1 } }, { $limit: 2 }, { $project: { _id: 0, size: 1 } }])
      .toArray();
    expect(top).toEqual([{ size: 5 }, { size: 3 }]);
    const grouped = await coll
      .aggregate([{ $group: { _id: "$queue", total: { $sum: "$size" } } }, { $sort: { _id: 1 } }])
      .toArray();
    expect(grouped).toEqual([
      { _id: "a", total: 8 },
      { _id: "b", total: 1 },
    ]);
  });

  it("pages aggregate results through a cursor", async () => {
    const coll = env.db.collection("agg_paging");
    await coll.insertMany(Array.from({ length: 120 }, (_, i) => ({ i })));
    const docs = await coll.aggregate([{ $match: { i: { $gte: 10 } } }], { batchSize: 25 }).toArray();
    expect(docs.map((doc) => doc.i)).toEqual(Array.from({ length: 110 }, (_, i) => i + 10));
  });
});

describe("change streams", () => {
  it("fails as on a standalone mongod, code 40573", async () => {
    const stream = env.db.collection("agg_changes").watch();
    try {
      await expect(stream.tryNext()).rejects.toMatchObject({
        code: 40573,
        errmsg: "The $changeStream stage is only supported on replica sets",
      });
    } finally {
      await stream.close();
    }
  });
});

describe("aggregate isolation", () => {
  it("does not change stored documents, whatever the pipeline does to its input", async () => {
    const coll = env.db.collection("agg_isolation");
    await coll.insertOne({ _id: "i" as never, nested: { x: 1 } });
    const [out] = await coll
      .aggregate([{ $match: { _id: "i" } }, { $addFields: { "nested.y": 2 } }])
      .toArray();
    expect(out).toEqual({ _id: "i", nested: { x: 1, y: 2 } });
    await coll.aggregate([{ $addFields: { "nested.z": 3 } }]).toArray();
    expect(await coll.findOne({})).toEqual({ _id: "i", nested: { x: 1 } });
  });
});
