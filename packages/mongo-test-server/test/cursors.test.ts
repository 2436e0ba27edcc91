import { describe, expect, it } from "vitest";
import { connect, useServer } from "./helpers.js";

const env = useServer();

describe("find and cursors", () => {
  it("pages through more documents than one batch holds", async () => {
    await env.db.collection("cursor_paging").insertMany(Array.from({ length: 250 }, (_, i) => ({ i })));
    const client = await connect(env.server.url, { monitorCommands: true });
    try {
      const getMores: number[] = [];
      client.on("commandSucceeded", (event) => {
        if (event.commandName === "getMore")
          getMores.push((event.reply as { cursor: { nextBatch: unknown[] } }).cursor.nextBatch.length);
      });
      const coll = client.db("tq_test").collection("cursor_paging");
      const seen: number[] = [];
      for await (const doc of coll.find({}, { batchSize: 30 })) seen.push(doc.i as number);
      expect(seen).toEqual(Array.from({ length: 250 }, (_, i) => i));
      expect(getMores).toEqual([30, 30, 30, 30, 30, 30, 30, 10]);
      getMores.length = 0;
      // Without batchSize: mongod's first batch of 101, then the rest in one getMore.
      expect(await coll.find({}).toArray()).toHaveLength(250);
      expect(getMores).toEqual([149]);
    } finally {
      await client.close();
    }
  });

  it("sorts, skips, limits and projects", async () => {
    const coll = env.db.collection("cursor_sort");
    await coll.insertMany([
      { name: "c", p: 2, extra: true },
      { name: "a", p: 9, extra: true },
      { name: "b", p: 5, extra: true },
      { name: "d", p: 5, extra: true },
    ]);
    const byPriority = await coll
      .find({ p: { $gte: 5 } }, { projection: { _id: 0, name: 1 } })
      .sort({ p: -1, name: 1 })
      .toArray();
    expect(byPriority).toEqual([{ name: "a" }, { name: "b" }, { name: "d" }]);
    const page = await coll
      .find({})
      .sort({ name: 1 })
      .skip(1)
      .limit(2)
      .project({ extra: 0, _id: 0 })
      .toArray();
    expect(page).toEqual([
      { name: "b", p: 5 },
      { name: "c", p: 2 },
    ]);
    const first = await coll.findOne({}, { sort: { p: 1 } });
    expect(first?.name).toBe("c");
  });

  it("keeps the document's field order under an inclusion projection", async () => {
    const coll = env.db.collection("cursor_projection_order");
    await coll.insertOne({ _id: "o" as never, a: 1, b: 2, c: 3 });
    const doc = await coll.findOne({}, { projection: { c: 1, a: 1 } });
    expect(Object.keys(doc!)).toEqual(["_id", "a", "c"]);
  });

  it("closes cursors on killCursors and answers getMore on a closed one with CursorNotFound", async () => {
    const coll = env.db.collection("cursor_kill");
    await coll.insertMany(Array.from({ length: 20 }, (_, i) => ({ i })));
    const reply = await env.db.command({ find: "cursor_kill", batchSize: 5 });
    const id = reply.cursor.id;
    expect(reply.cursor.firstBatch).toHaveLength(5);
    const more = await env.db.command({ getMore: id, collection: "cursor_kill", batchSize: 5 });
    expect(more.cursor.nextBatch.map((d: { i: number }) => d.i)).toEqual([5, 6, 7, 8, 9]);
    const killed = await env.db.command({ killCursors: "cursor_kill", cursors: [id] });
    expect(killed.cursorsKilled).toHaveLength(1);
    await expect(env.db.command({ getMore: id, collection: "cursor_kill" })).rejects.toMatchObject({
      code: 43,
      codeName: "CursorNotFound",
    });
  });

  it("answers a negative limit or singleBatch in one batch with no cursor left open", async () => {
    const coll = env.db.collection("cursor_single");
    await coll.insertMany(Array.from({ length: 10 }, (_, i) => ({ i })));
    const negative = await env.db.command({ find: "cursor_single", limit: -3 });
    expect(negative.cursor.firstBatch).toHaveLength(3);
    expect(Number(negative.cursor.id)).toBe(0);
    const single = await env.db.command({ find: "cursor_single", batchSize: 4, singleBatch: true });
    expect(single.cursor.firstBatch).toHaveLength(4);
    expect(Number(single.cursor.id)).toBe(0);
    const missing = await env.db.command({ find: "cursor_no_such_collection" });
    expect(missing.cursor).toMatchObject({ firstBatch: [], ns: "tq_test.cursor_no_such_collection" });
  });
});
