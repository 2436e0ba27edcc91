import { expect } from "vitest";
import { fullMeta, type ResolvedBackendOptions, stateMeta } from "./backend-harness.js";
import type { DefineBackendTest } from "./backend-suite.js";
import { eventually } from "./wait.js";

/** Documents, groups and expiry. */
export function registerStoreBackendTests(test: DefineBackendTest, options: ResolvedBackendOptions): void {
  test("stores and reads back a full Celery result document", async (h) => {
    const [worker, client] = [await h.backend(), await h.backend()];
    const meta = fullMeta(h.id("full"));
    await worker.store(meta);
    expect(await client.get(meta.task_id)).toEqual(meta);
  });

  test("reads null for an unknown task", async (h) => {
    const backend = await h.backend();
    expect(await backend.get(h.id("unknown"))).toBeNull();
  });

  test("replaces a state with a later one, but never a SUCCESS", async (h) => {
    const backend = await h.backend();
    const taskId = h.id("success");
    await backend.store(stateMeta(taskId, "STARTED", { pid: 1, hostname: "conformance" }));
    await backend.store(stateMeta(taskId, "PROGRESS", { done: 1 }));
    expect((await backend.get(taskId))?.status).toBe("PROGRESS");
    await backend.store(stateMeta(taskId, "SUCCESS", "first"));
    await backend.store(stateMeta(taskId, "STARTED"));
    await backend.store(
      stateMeta(taskId, "FAILURE", { exc_type: "ValueError", exc_message: ["late"], exc_module: "builtins" }),
    );
    await backend.store(stateMeta(taskId, "SUCCESS", "second"));
    const stored = await backend.get(taskId);
    expect(stored?.status).toBe("SUCCESS");
    expect(stored?.result).toBe("first");
  });

  test("keeps what it was given: changing objects stored or read changes nothing", async (h) => {
    const backend = await h.backend();
    const meta = stateMeta(h.id("copy"), "SUCCESS", { list: [1, 2] });
    await backend.store(meta);
    (meta.result as { list: number[] }).list.push(3);
    const read = await backend.get(meta.task_id);
    expect(read?.result).toEqual({ list: [1, 2] });
    (read!.result as { list: number[] }).list.push(4);
    const waited = await backend.waitFor(meta.task_id, { timeoutMs: h.options.timeoutMs });
    (waited.result as { list: number[] }).list.push(5);
    expect((await backend.get(meta.task_id))?.result).toEqual({ list: [1, 2] });
  });

  test("forgets a document", async (h) => {
    const backend = await h.backend();
    const taskId = h.id("forget");
    await backend.store(stateMeta(taskId, "SUCCESS", 1));
    await backend.forget(taskId);
    expect(await backend.get(taskId)).toBeNull();
    await backend.forget(h.id("forget-unknown"));
  });

  test("saves, reads and forgets a group", async (h) => {
    const [client, worker] = [await h.backend(), await h.backend()];
    const groupId = h.id("group");
    const members = [h.id("member"), h.id("member"), h.id("member")];
    await client.saveGroup(groupId, members);
    expect(await worker.getGroup(groupId)).toEqual(members);
    expect(await worker.getGroup(h.id("group-unknown"))).toBeNull();
    await worker.forgetGroup(groupId);
    expect(await client.getGroup(groupId)).toBeNull();
  });

  test(
    "drops a document once its expiresMs passed",
    async (h) => {
      const backend = await h.backend();
      const taskId = h.id("expiry");
      const kept = h.id("kept");
      await backend.store(stateMeta(taskId, "SUCCESS", 1), { expiresMs: options.expiryMs });
      await backend.store(stateMeta(kept, "SUCCESS", 2), { expiresMs: null });
      expect((await backend.get(taskId))?.result).toBe(1);
      await eventually(
        async () => (await backend.get(taskId)) === null,
        options.expiryMs + options.expiryGraceMs,
        `the document stored with expiresMs ${options.expiryMs} to expire`,
      );
      expect((await backend.get(kept))?.result).toBe(2);
    },
    {
      skip: !options.supportsExpiry,
      timeoutMs: options.expiryMs + options.expiryGraceMs + options.timeoutMs * 2,
    },
  );
}
