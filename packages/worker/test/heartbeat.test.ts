import { jsonSerializer, MemoryBroker, type TransportMessage } from "@tq/core";
import { afterEach, describe, expect, it } from "vitest";
import { cleanUp, makeHarness, sleep } from "./helpers.js";

afterEach(cleanUp);

/** Subscribes a second client of the harness's server to Celery's event exchange. */
async function watchEvents(options: ConstructorParameters<typeof MemoryBroker>[0]) {
  const events: Record<string, unknown>[] = [];
  const watcher = new MemoryBroker(options);
  await watcher.subscribeBroadcast("celeryev", (message: TransportMessage) => {
    events.push({ ...(jsonSerializer.decode(message.body) as object), headers: message.headers });
  });
  return { events, close: () => watcher.close() };
}

describe("worker events (heartbeats)", () => {
  it("sends worker-online, a worker-heartbeat every interval with Celery's fields, and worker-offline", async () => {
    const { server, app, worker } = makeHarness({ worker: { hostname: "hb@test", heartbeatInterval: 0.05 } });
    const watcher = await watchEvents({ server });
    app.task("t.noop", () => null);
    await worker.start();
    await app.tasks.get("t.noop")!.delay().get({ timeout: 5_000 });
    while (watcher.events.filter((event) => event.type === "worker-heartbeat").length < 3) await sleep(20);
    await worker.stop();
    // Fanout delivery to a subscriber is asynchronous, as on a real broker.
    while (!watcher.events.some((event) => event.type === "worker-offline")) await sleep(10);
    await watcher.close();
    const types = watcher.events.map((event) => event.type);
    expect(types[0]).toBe("worker-online");
    expect(types.at(-1)).toBe("worker-offline");
    const last = watcher.events.filter((event) => event.type === "worker-heartbeat").at(-1);
    expect(last).toMatchObject({
      hostname: "hb@test",
      headers: { hostname: "hb@test" },
      pid: process.pid,
      freq: 0.05,
      active: 0,
      processed: 1,
      sw_ident: "tq-node",
      utcoffset: expect.any(Number),
      timestamp: expect.any(Number),
    });
    const clocks = watcher.events.map((event) => event.clock as number);
    expect(clocks).toEqual([...clocks].sort((a, b) => a - b));
  });

  it("sends nothing with withoutHeartbeat", async () => {
    const { server, worker } = makeHarness({ worker: { withoutHeartbeat: true } });
    const watcher = await watchEvents({ server });
    await worker.start();
    await sleep(100);
    await worker.stop();
    await watcher.close();
    expect(watcher.events).toEqual([]);
  });

  it("rejects a heartbeat interval that is not a positive number", () => {
    expect(() => makeHarness({ worker: { heartbeatInterval: 0 } })).toThrow(/heartbeatInterval/);
  });
});
