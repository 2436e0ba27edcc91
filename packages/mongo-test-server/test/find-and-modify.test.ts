import type { MongoClient } from "mongodb";
import { describe, expect, it } from "vitest";
import { connect, useServer } from "./helpers.js";

const env = useServer();

describe("findAndModify", () => {
  it("returns the document before or after, with the result metadata", async () => {
    const coll = env.db.collection("fam_basic");
    await coll.insertOne({ _id: "m1" as never, state: "ready", tries: 0, body: "x" });
    const before = await coll.findOneAndUpdate(
      { state: "ready" },
      { $set: { state: "claimed" }, $inc: { tries: 1 } },
      { projection: { body: 0 } },
    );
    expect(before).toEqual({ _id: "m1", state: "ready", tries: 0 });
    const after = await coll.findOneAndUpdate(
      { _id: "m1" as never },
      { $unset: { body: "" }, $inc: { tries: 1 } },
      { returnDocument: "after", includeResultMetadata: true },
    );
    expect(after).toMatchObject({
      value: { _id: "m1", state: "claimed", tries: 2 },
      lastErrorObject: { n: 1, updatedExisting: true },
      ok: 1,
    });
    expect(await coll.findOneAndUpdate({ state: "nothing" }, { $set: { a: 1 } })).toBeNull();
  });

  it("upserts and removes", async () => {
    const coll = env.db.collection("fam_upsert");
    const upserted = await coll.findOneAndUpdate(
      { _id: "u1" as never },
      { $set: { v: 1 }, $setOnInsert: { created: true } },
      { upsert: true, returnDocument: "after", includeResultMetadata: true },
    );
    expect(upserted).toMatchObject({
      value: { _id: "u1", v: 1, created: true },
      lastErrorObject: { n: 1, updatedExisting: false, upserted: "u1" },
    });
    const replaced = await coll.findOneAndReplace(
      { _id: "u1" as never },
      { v: 2 },
      { returnDocument: "after" },
    );
    expect(replaced).toEqual({ _id: "u1", v: 2 });
    const removed = await coll.findOneAndDelete({ v: 2 });
    expect(removed).toEqual({ _id: "u1", v: 2 });
    expect(await coll.findOneAndDelete({ v: 2 })).toBeNull();
  });

  it("takes the first document in sort order", async () => {
    const coll = env.db.collection("fam_sort");
    await coll.insertMany([
      { _id: "a" as never, priority: 1, eta: 3 },
      { _id: "b" as never, priority: 9, eta: 2 },
      { _id: "c" as never, priority: 9, eta: 1 },
    ]);
    const first = await coll.findOneAndDelete({}, { sort: { priority: -1, eta: 1 } });
    expect(first?._id).toBe("c");
  });

  it("gives each of 100 documents to exactly one of 4 racing clients", async () => {
    const coll = env.db.collection("fam_race");
    await coll.insertMany(
      Array.from({ length: 100 }, (_, i) => ({ _id: `m${i}` as never, state: "ready", i })),
    );
    const clients: MongoClient[] = await Promise.all([1, 2, 3, 4].map(() => connect(env.server.url)));
    try {
      const claims = await Promise.all(
        clients.map(async (client, worker) => {
          const mine: string[] = [];
          const queue = client.db("tq_test").collection("fam_race");
          for (;;) {
            const doc = await queue.findOneAndUpdate(
              { state: "ready" },
              { $set: { state: "claimed", worker } },
              { sort: { i: 1 }, returnDocument: "after" },
            );
            if (!doc) return mine;
            expect(doc.worker).toBe(worker);
            mine.push(String(doc._id));
          }
        }),
      );
      const all = claims.flat();
      expect(all).toHaveLength(100);
      expect(new Set(all).size).toBe(100);
      expect(await coll.countDocuments({ state: "ready" })).toBe(0);
      for (const [worker, mine] of claims.entries()) {
        expect(await coll.countDocuments({ worker })).toBe(mine.length);
      }
    } finally {
      await Promise.all(clients.map((client) => client.close()));
    }
  });

  it("refuses update together with remove", async () => {
    await expect(
      env.db.command({ findAndModify: "fam_bad", query: {}, remove: true, update: { $set: { a: 1 } } }),
    ).rejects.toMatchObject({ code: 9, codeName: "FailedToParse" });
  });
});
