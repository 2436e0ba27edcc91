import { Socket } from "node:net";
import { deserialize, serialize } from "bson";
import { describe, expect, it } from "vitest";
import { MAX_WIRE_VERSION } from "../src/index.js";
import { useServer } from "./helpers.js";

const env = useServer();

/** Sends one legacy OP_QUERY, as the driver does for its first isMaster, and decodes the OP_REPLY. */
async function legacyQuery(port: number, command: Record<string, unknown>): Promise<Record<string, unknown>> {
  const name = Buffer.from("admin.$cmd\0");
  const doc = Buffer.from(serialize(command));
  const header = Buffer.alloc(16);
  const fields = Buffer.alloc(8);
  fields.writeInt32LE(-1, 4);
  const flags = Buffer.alloc(4);
  const length = 16 + 4 + name.length + 8 + doc.length;
  header.writeInt32LE(length, 0);
  header.writeInt32LE(7, 4);
  header.writeInt32LE(2004, 12);
  const socket = new Socket();
  const reply = await new Promise<Buffer>((resolve, reject) => {
    let received = Buffer.alloc(0);
    socket.on("error", reject);
    socket.on("data", (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 4 && received.length >= received.readInt32LE(0)) resolve(received);
    });
    socket.connect(port, "127.0.0.1", () => socket.write(Buffer.concat([header, flags, name, fields, doc])));
  });
  socket.destroy();
  expect(reply.readInt32LE(8)).toBe(7); // responseTo
  expect(reply.readInt32LE(12)).toBe(1); // OP_REPLY
  expect(reply.readInt32LE(16 + 16)).toBe(1); // numberReturned
  return deserialize(reply.subarray(16 + 20));
}

describe("handshake", () => {
  it("answers the legacy OP_QUERY isMaster the driver opens with", async () => {
    const reply = await legacyQuery(env.server.port, { isMaster: 1, helloOk: true });
    expect(reply).toMatchObject({ ismaster: true, helloOk: true, maxWireVersion: MAX_WIRE_VERSION, ok: 1 });
  });

  it("reports a standalone 7.0 with sessions", async () => {
    const reply = await env.db.admin().command({ hello: 1 });
    expect(reply).toMatchObject({
      isWritablePrimary: true,
      maxWireVersion: 21,
      logicalSessionTimeoutMinutes: 30,
      ok: 1,
    });
    expect(reply.setName).toBeUndefined();
    expect(reply.topologyVersion).toBeUndefined();
  });

  it("answers ping and buildInfo", async () => {
    expect(await env.db.command({ ping: 1 })).toEqual({ ok: 1 });
    const info = await env.db.admin().command({ buildInfo: 1 });
    expect(info).toMatchObject({ version: "7.0.0", versionArray: [7, 0, 0, 0], tqMongoTestServer: true });
  });

  it("answers an unknown command with CommandNotFound (59)", async () => {
    await expect(env.db.command({ frobnicate: 1 })).rejects.toMatchObject({
      code: 59,
      codeName: "CommandNotFound",
      errmsg: "no such command: 'frobnicate'",
    });
  });

  it("refuses transactions as a standalone does", async () => {
    const session = env.client.startSession();
    try {
      session.startTransaction();
      // The server says IllegalOperation (20); the driver rewords it exactly as for a real standalone.
      const error = await env.db
        .collection("handshake_txn")
        .insertOne({ a: 1 }, { session })
        .catch((e) => e);
      expect(error.message).toMatch(/does not support retryable writes/);
      expect(error.originalError).toMatchObject({ code: 20, codeName: "IllegalOperation" });
    } finally {
      await session.endSession();
    }
  });
});
