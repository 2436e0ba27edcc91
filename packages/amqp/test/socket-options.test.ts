/** TCP_NODELAY on the connections the broker and the rpc:// backend open, unless `socketOptions` says otherwise. */
import { Socket } from "node:net";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { RpcBackend } from "../src/rpc-backend.js";
import { amqpTestUrl, ensureTestVhost } from "./support/amqp-server.js";
import { BrokerPool } from "./support/broker-fixtures.js";

const pool = new BrokerPool();

// Its probe connection is amqplib's default (no noDelay): made before any spy.
beforeAll(() => ensureTestVhost());

afterEach(async () => {
  vi.restoreAllMocks();
  await pool.closeAll();
});

function spyNoDelay(): boolean[] {
  const calls: boolean[] = [];
  const original = Socket.prototype.setNoDelay;
  vi.spyOn(Socket.prototype, "setNoDelay").mockImplementation(function (this: Socket, noDelay?: boolean) {
    calls.push(noDelay ?? true);
    return original.call(this, noDelay);
  });
  return calls;
}

describe("TCP_NODELAY", () => {
  it("is on for the broker's connection by default", async () => {
    const calls = spyNoDelay();
    await pool.make();
    expect(calls).toEqual([true]);
  });

  it("follows socketOptions.noDelay when given", async () => {
    const calls = spyNoDelay();
    await pool.make({ socketOptions: { noDelay: false } });
    expect(calls).toEqual([false]);
  });

  it("is on for the rpc backend's connection by default, off when socketOptions says so", async () => {
    const calls = spyNoDelay();
    for (const socketOptions of [undefined, { noDelay: false }]) {
      const backend = new RpcBackend({ url: amqpTestUrl(), ...(socketOptions ? { socketOptions } : {}) });
      try {
        await backend.connect();
      } finally {
        await backend.close();
      }
    }
    expect(calls).toEqual([true, false]);
  });
});
