import { afterEach, describe, expect, it, vi } from "vitest";
import {
  MemoryBackend,
  MemoryBroker,
  MemoryServer,
  memoryBackend,
  memoryTransport,
} from "../src/memory/index.js";
import { createBroker, createResultBackend } from "../src/registry.js";
import type { TaskMeta } from "../src/result-backend.js";

function meta(taskId: string, status: string, result: unknown = null): TaskMeta {
  return { task_id: taskId, status, result, traceback: null, children: [], date_done: null };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("memory result backend", () => {
  it("expires documents after expiresMs (lazily on read), per call overridable, null keeps forever", async () => {
    vi.useFakeTimers({ now: 0 });
    const backend = memoryBackend({ server: new MemoryServer(), expiresMs: 1_000 });
    await backend.store(meta("default", "SUCCESS"));
    await backend.store(meta("longer", "SUCCESS"), { expiresMs: 5_000 });
    await backend.store(meta("forever", "SUCCESS"), { expiresMs: null });
    await backend.saveGroup("g", ["default"]);
    vi.setSystemTime(999);
    expect(await backend.get("default")).not.toBeNull();
    vi.setSystemTime(1_000);
    expect(await backend.get("default")).toBeNull();
    expect(await backend.getGroup("g")).toBeNull();
    expect(await backend.get("longer")).not.toBeNull();
    vi.setSystemTime(10 * 86_400_000);
    expect(await backend.get("longer")).toBeNull();
    expect(await backend.get("forever")).not.toBeNull();
  });

  it("keeps results a day by default, as Celery's result_expires", async () => {
    vi.useFakeTimers({ now: 0 });
    const backend = new MemoryBackend({ server: new MemoryServer() });
    await backend.store(meta("t", "SUCCESS"));
    vi.setSystemTime(86_400_000 - 1);
    expect(await backend.get("t")).not.toBeNull();
    vi.setSystemTime(86_400_000);
    expect(await backend.get("t")).toBeNull();
  });

  it("lets a new state replace an expired SUCCESS", async () => {
    vi.useFakeTimers({ now: 0 });
    const backend = memoryBackend({ server: new MemoryServer(), expiresMs: 10 });
    await backend.store(meta("t", "SUCCESS"));
    vi.setSystemTime(10);
    await backend.store(meta("t", "STARTED"));
    expect((await backend.get("t"))?.status).toBe("STARTED");
  });

  it("rejects invalid expiries with TQ_CONFIG", async () => {
    expect(() => memoryBackend({ expiresMs: 0 })).toThrow(expect.objectContaining({ code: "TQ_CONFIG" }));
    const backend = memoryBackend({ server: new MemoryServer() });
    await expect(backend.store(meta("t", "SUCCESS"), { expiresMs: -1 })).rejects.toMatchObject({
      code: "TQ_CONFIG",
    });
  });

  it("copies values on the way in and out", async () => {
    const backend = memoryBackend({ server: new MemoryServer() });
    const doc = meta("t", "SUCCESS", { nested: { list: [1, 2] } });
    await backend.store(doc);
    (doc.result as { nested: { list: number[] } }).nested.list.push(3);
    const read = await backend.get("t");
    expect(read?.result).toEqual({ nested: { list: [1, 2] } });
    (read!.result as { nested: { list: number[] } }).nested.list.length = 0;
    expect((await backend.get("t"))?.result).toEqual({ nested: { list: [1, 2] } });
  });

  it("shares results between backends of one server, and wakes their waits", async () => {
    const server = new MemoryServer();
    const client = memoryBackend({ server });
    const worker = memoryBackend({ server });
    const waiting = client.waitFor("t");
    await worker.store(
      meta("t", "FAILURE", { exc_type: "ValueError", exc_message: ["x"], exc_module: "builtins" }),
    );
    expect((await waiting).status).toBe("FAILURE");
    expect(await memoryBackend({ server: new MemoryServer() }).get("t")).toBeNull();
  });

  it("rejects waits in progress with TQ_CLOSED on close, and later calls too", async () => {
    const server = new MemoryServer();
    const backend = memoryBackend({ server });
    const other = memoryBackend({ server });
    const waiting = backend.waitFor("t");
    const untouched = other.waitFor("t");
    await backend.close();
    await expect(waiting).rejects.toMatchObject({ code: "TQ_CLOSED" });
    await expect(backend.get("t")).rejects.toMatchObject({ code: "TQ_CLOSED" });
    await other.store(meta("t", "REVOKED"));
    expect((await untouched).status).toBe("REVOKED");
  });

  it("counts a chord member reported twice once, and starts afresh on setChordSize", async () => {
    const backend = memoryBackend({ server: new MemoryServer() });
    await backend.setChordSize("c", 2);
    const part = (index: number) => ({ index, taskId: `t${index}`, status: "SUCCESS", result: index });
    expect(await backend.addChordPart("c", part(1))).toEqual({ complete: false, received: 1, parts: [] });
    expect((await backend.addChordPart("c", part(1))).received).toBe(1);
    const done = await backend.addChordPart("c", part(0));
    expect(done.complete).toBe(true);
    expect(done.parts.map((p) => p.index)).toEqual([0, 1]);
    expect((await backend.addChordPart("c", part(2))).complete).toBe(false);
    await backend.setChordSize("c", 1);
    expect((await backend.addChordPart("c", part(0))).complete).toBe(true);
  });
});

describe("memory transport", () => {
  it("creates brokers and backends on the server named by the URL", async () => {
    const url = `memory://transport-${Math.random().toString(36).slice(2)}`;
    const broker = memoryTransport.createBroker!(url, {});
    const backend = memoryTransport.createBackend!(url, {});
    expect(broker).toBeInstanceOf(MemoryBroker);
    expect((broker as MemoryBroker).server).toBe(MemoryServer.forUrl(url));
    expect((backend as MemoryBackend).server).toBe(MemoryServer.forUrl(url));
    await backend.store(meta("t", "SUCCESS", 1));
    expect((await (createResultBackend(url) as MemoryBackend).get("t"))?.result).toBe(1);
    expect((createBroker(url) as MemoryBroker).server).toBe(MemoryServer.forUrl(url));
    await broker.close();
  });
});
