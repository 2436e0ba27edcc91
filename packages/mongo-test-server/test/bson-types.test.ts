import { Binary, Decimal128, Double, Int32, Long, ObjectId, Timestamp } from "mongodb";
import { describe, expect, it } from "vitest";
import { useServer } from "./helpers.js";

const env = useServer();

describe("BSON types", () => {
  it("round-trips Date, Binary, Long, Decimal128, ObjectId, Timestamp and nested values", async () => {
    const coll = env.db.collection("types_roundtrip");
    const doc = {
      _id: "t1",
      date: new Date("2024-05-06T07:08:09.010Z"),
      binary: new Binary(Buffer.from([0, 1, 2, 255]), 0),
      uuid: new Binary(Buffer.alloc(16, 7), 4),
      long: Long.fromString("9007199254740993"),
      decimal: Decimal128.fromString("12.345"),
      oid: new ObjectId(),
      ts: new Timestamp({ t: 5, i: 1 }),
      nested: { list: [1, "two", { three: 3 }], flag: true, none: null },
      int: new Int32(7),
    };
    await coll.insertOne(doc as never);
    const back = await coll.findOne({ _id: "t1" as never }, { promoteLongs: false, promoteValues: false });
    expect(back?.date).toEqual(doc.date);
    expect(back?.binary).toBeInstanceOf(Binary);
    expect(Buffer.from(back?.binary.buffer)).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(back?.uuid.sub_type).toBe(4);
    expect(back?.long).toBeInstanceOf(Long);
    expect(back?.long.toString()).toBe("9007199254740993");
    expect(back?.decimal).toBeInstanceOf(Decimal128);
    expect(back?.decimal.toString()).toBe("12.345");
    expect(back?.oid.equals(doc.oid)).toBe(true);
    expect(back?.ts).toBeInstanceOf(Timestamp);
    expect(back?.int).toBeInstanceOf(Int32);
    expect(back?.nested).toMatchObject({ flag: true, none: null });
  });

  it("keeps a Long a Long, also under $inc, and compares it with numbers", async () => {
    const coll = env.db.collection("types_long");
    await coll.insertMany([
      { _id: "small" as never, n: Long.fromNumber(5) },
      { _id: "plain" as never, n: 5 },
    ]);
    await coll.updateMany({}, { $inc: { n: 1 } });
    const small = await coll.findOne({ _id: "small" as never }, { promoteLongs: false });
    expect(small?.n).toBeInstanceOf(Long);
    expect(small?.n.toNumber()).toBe(6);
    const plain = await coll.findOne({ _id: "plain" as never }, { promoteLongs: false });
    expect(plain?.n).toBe(6);
    expect(await coll.countDocuments({ n: { $gt: 5.5 } })).toBe(2);
    expect(await coll.countDocuments({ n: Long.fromNumber(6) })).toBe(2);
    const sorted = await coll.find({}, { promoteLongs: false }).sort({ n: -1, _id: 1 }).toArray();
    expect(sorted.map((d) => d._id)).toEqual(["plain", "small"]);
  });

  it("matches dates by range and Binary by value", async () => {
    const coll = env.db.collection("types_match");
    const t0 = new Date("2024-01-01T00:00:00Z");
    await coll.insertMany([
      { k: 1, at: t0, b: new Binary(Buffer.from("one")) },
      { k: 2, at: new Date(t0.getTime() + 60_000), b: new Binary(Buffer.from("two")) },
    ]);
    expect(await coll.countDocuments({ at: { $lt: new Date(t0.getTime() + 1) } })).toBe(1);
    expect((await coll.findOne({ b: new Binary(Buffer.from("two")) }))?.k).toBe(2);
    expect(await coll.countDocuments({ d: new Double(1) })).toBe(0);
  });
});
