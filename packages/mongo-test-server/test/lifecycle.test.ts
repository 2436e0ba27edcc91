import type { MongoClient } from "mongodb";
import { describe, expect, it } from "vitest";
import { startMongoTestServer } from "../src/index.js";
import { connect, useServer } from "./helpers.js";

const env = useServer();

describe("collections and databases", () => {
  it("creates, lists (with a name filter) and drops collections", async () => {
    const db = env.client.db("tq_lifecycle");
    await db.createCollection("explicit");
    await db.collection("implicit").insertOne({ a: 1 });
    await expect(db.createCollection("explicit")).rejects.toMatchObject({
      code: 48,
      codeName: "NamespaceExists",
    });
    const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
    expect(names).toEqual(["explicit", "implicit"]);
    const filtered = await db.listCollections({ name: "implicit" }).toArray();
    expect(filtered).toHaveLength(1);
    expect(filtered[0]).toMatchObject({ name: "implicit", type: "collection", idIndex: { name: "_id_" } });
    expect(await db.collection("implicit").drop()).toBe(true);
    // MongoDB 7.0: dropping a missing collection succeeds.
    expect(await db.collection("implicit").drop()).toBe(true);
    const { databases } = await env.client.db("admin").admin().listDatabases({ nameOnly: true });
    expect(databases.map((d) => d.name)).toContain("tq_lifecycle");
    await db.dropDatabase();
    expect(await db.listCollections().toArray()).toEqual([]);
  });

  it("applies unacknowledged (w: 0) writes, which get no reply", async () => {
    const coll = env.db.collection("lifecycle_w0");
    await coll.insertOne({ a: 1 }, { writeConcern: { w: 0 } });
    await coll.insertOne({ a: 2 });
    expect(await coll.countDocuments()).toBe(2);
  });
});

describe("server lifecycle", () => {
  it("gives each server its own free port and its own data", async () => {
    const other = await startMongoTestServer({ port: 0 });
    try {
      expect(other.port).not.toBe(env.server.port);
      expect(other.url).toBe(`mongodb://127.0.0.1:${other.port}`);
      const client = await connect(other.url);
      try {
        expect(await client.db("tq_test").collection("lifecycle_w0").countDocuments()).toBe(0);
      } finally {
        await client.close();
      }
    } finally {
      await other.close();
    }
  });

  it("closes promptly while clients are still connected; those clients then fail", async () => {
    const server = await startMongoTestServer();
    const clients: MongoClient[] = await Promise.all([1, 2].map(() => connect(server.url)));
    await clients[0]!.db("x").collection("y").insertOne({ a: 1 });
    const started = Date.now();
    await server.close();
    await server.close(); // idempotent
    expect(Date.now() - started).toBeLessThan(1_000);
    await expect(clients[0]!.db("x").collection("y").findOne({})).rejects.toThrow();
    await Promise.all(clients.map((client) => client.close()));
  });
});
