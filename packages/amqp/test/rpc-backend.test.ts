/**
 * The rpc:// backend against the real RabbitMQ: a "worker" backend sends states to the reply queue of
 * a "client" backend, as two processes would, and the client's waits and reads see them.
 */
import { describe, expect, it } from "vitest";
import { eventually, getMessage, settle, sleep } from "./support/rpc-amqp.js";
import { codeOf, meta, useRpcFixture } from "./support/rpc-fixtures.js";

const fx = useRpcFixture("backend");

describe("results sent back to the caller", () => {
  it("delivers a SUCCESS to the caller's waitFor and get", async () => {
    const { client, worker } = await fx.pair();
    const taskId = fx.id("ok");
    const waiting = client.waitFor(taskId, { timeoutMs: 10_000 });
    await worker.store(meta(taskId, "SUCCESS", { sum: 10 }), { replyTo: client.replyTo });
    const done = await waiting;
    expect(done).toMatchObject({ task_id: taskId, status: "SUCCESS", result: { sum: 10 }, children: [] });
    expect(await client.get(taskId)).toMatchObject({ status: "SUCCESS", result: { sum: 10 } });
    // Callers never share objects.
    expect(await client.get(taskId)).not.toBe(await client.get(taskId));
  });

  it("delivers a FAILURE with its exception info and traceback", async () => {
    const { client, worker } = await fx.pair();
    const taskId = fx.id("fail");
    const waiting = client.waitFor(taskId, { timeoutMs: 10_000 });
    const info = { exc_type: "ValueError", exc_message: ["bad input"], exc_module: "builtins" };
    await worker.store(meta(taskId, "FAILURE", info, { traceback: "Traceback…\nValueError: bad input\n" }), {
      replyTo: client.replyTo,
    });
    expect(await waiting).toMatchObject({
      status: "FAILURE",
      result: info,
      traceback: "Traceback…\nValueError: bad input\n",
    });
  });

  it("shows STARTED to get() while waitFor goes on until SUCCESS; only the latest state is kept", async () => {
    const { client, worker } = await fx.pair();
    const taskId = fx.id("started");
    const waiting = settle(client.waitFor(taskId, { timeoutMs: 10_000 }));
    await worker.store(meta(taskId, "STARTED", { pid: 1, hostname: "w@h" }), { replyTo: client.replyTo });
    const started = await eventually(() => client.get(taskId), 5_000, "STARTED arriving");
    expect(started).toMatchObject({ status: "STARTED", result: { pid: 1, hostname: "w@h" } });
    await sleep(100);
    expect(await Promise.race([waiting, sleep(0).then(() => "pending")])).toBe("pending");
    await worker.store(meta(taskId, "SUCCESS", 42), { replyTo: client.replyTo });
    expect((await waiting).value).toMatchObject({ status: "SUCCESS", result: 42 });
    expect(await client.get(taskId)).toMatchObject({ status: "SUCCESS", result: 42 });
  });

  it("keeps a SUCCESS when a later state arrives for the task", async () => {
    const { client, worker } = await fx.pair();
    const taskId = fx.id("keep");
    await worker.store(meta(taskId, "SUCCESS", 1), { replyTo: client.replyTo });
    await worker.store(meta(taskId, "STARTED", null), { replyTo: client.replyTo });
    const marker = fx.id("marker");
    await worker.store(meta(marker, "SUCCESS", 0), { replyTo: client.replyTo });
    // One queue, one consumer: once the later message arrived, the earlier ones did too.
    await client.waitFor(marker, { timeoutMs: 5_000 });
    expect(await client.get(taskId)).toMatchObject({ status: "SUCCESS", result: 1 });
  });

  it("keeps a result nobody waited for, for a later get and waitFor", async () => {
    const { client, worker } = await fx.pair();
    const taskId = fx.id("early");
    await worker.store(meta(taskId, "SUCCESS", "early"), { replyTo: client.replyTo });
    const arrived = await eventually(() => client.get(taskId), 5_000, "the early result arriving");
    expect(arrived.result).toBe("early");
    // Already there: waitFor resolves at once, even with a zero timeout.
    expect(await client.waitFor(taskId, { timeoutMs: 0 })).toMatchObject({ result: "early" });
  });

  it("gives each caller only its own results: one reply queue per backend", async () => {
    const [a, b, worker] = [fx.backend(), fx.backend(), fx.backend()];
    await Promise.all([a.connect(), b.connect(), worker.connect()]);
    expect(a.replyTo).not.toBe(b.replyTo);
    const [forA, forB] = [fx.id("for-a"), fx.id("for-b")];
    const waitingB = b.waitFor(forB, { timeoutMs: 10_000 });
    await worker.store(meta(forA, "SUCCESS", "a"), { replyTo: a.replyTo });
    await worker.store(meta(forB, "SUCCESS", "b"), { replyTo: b.replyTo });
    expect(await a.waitFor(forA, { timeoutMs: 10_000 })).toMatchObject({ result: "a" });
    expect(await waitingB).toMatchObject({ result: "b" });
    // Neither consumed the other's result.
    expect(await a.get(forB)).toBeNull();
    expect(await b.get(forA)).toBeNull();
    const waitForOther = await settle(a.waitFor(forB, { timeoutMs: 300 }));
    expect(codeOf(waitForOther.error)).toBe("TQ_TIMEOUT");
  });

  it("uses the correlation id it is given, and the task id without one", async () => {
    const { client, worker } = await fx.pair();
    const queue = await fx.rawQueue("raw-corr");
    const [plain, custom] = [fx.id("corr-plain"), fx.id("corr-custom")];
    await worker.store(meta(plain, "SUCCESS", 1), { replyTo: queue });
    await worker.store(meta(custom, "SUCCESS", 2), { replyTo: queue, correlationId: "my-correlation" });
    expect((await getMessage(fx.raw(), queue))?.properties.correlationId).toBe(plain);
    expect((await getMessage(fx.raw(), queue))?.properties.correlationId).toBe("my-correlation");
    // The body's task_id names the task either way (it is what the client files the state under).
    await worker.store(meta(custom, "SUCCESS", 2), {
      replyTo: client.replyTo,
      correlationId: "my-correlation",
    });
    expect(await client.waitFor(custom, { timeoutMs: 5_000 })).toMatchObject({ task_id: custom, result: 2 });
  });
});

describe("waits", () => {
  it("rejects with TQ_TIMEOUT, TQ_ABORTED, and TQ_CLOSED on close", async () => {
    const { client } = await fx.pair();
    const timedOut = await settle(client.waitFor(fx.id("t"), { timeoutMs: 150 }));
    expect(codeOf(timedOut.error)).toBe("TQ_TIMEOUT");

    const controller = new AbortController();
    const aborted = settle(client.waitFor(fx.id("a"), { signal: controller.signal }));
    controller.abort(new Error("enough"));
    expect(codeOf((await aborted).error)).toBe("TQ_ABORTED");
    const preAborted = await settle(client.waitFor(fx.id("a2"), { signal: AbortSignal.abort() }));
    expect(codeOf(preAborted.error)).toBe("TQ_ABORTED");

    const pending = settle(client.waitFor(fx.id("c")));
    await sleep(20);
    await client.close();
    expect(codeOf((await pending).error)).toBe("TQ_CLOSED");
    expect(codeOf((await settle(client.waitFor(fx.id("c2")))).error)).toBe("TQ_CLOSED");
    expect(codeOf((await settle(client.get(fx.id("c3")))).error)).toBe("TQ_CLOSED");
    expect(codeOf((await settle(client.store(meta(fx.id("c4"), "SUCCESS"), { replyTo: "x" }))).error)).toBe(
      "TQ_CLOSED",
    );
  });

  it("forget drops the state kept for a task", async () => {
    const { client, worker } = await fx.pair();
    const taskId = fx.id("forget");
    await worker.store(meta(taskId, "SUCCESS", 1), { replyTo: client.replyTo });
    await client.waitFor(taskId, { timeoutMs: 5_000 });
    await client.forget(taskId);
    expect(await client.get(taskId)).toBeNull();
  });

  it("keeps at most maxBufferedResults states, dropping the least recently used", async () => {
    const { client, worker } = await fx.pair({ maxBufferedResults: 2 });
    const [first, second, third] = [fx.id("lru1"), fx.id("lru2"), fx.id("lru3")];
    await worker.store(meta(first, "SUCCESS", 1), { replyTo: client.replyTo });
    await worker.store(meta(second, "SUCCESS", 2), { replyTo: client.replyTo });
    await client.waitFor(second, { timeoutMs: 5_000 });
    await client.get(first); // used: now `second` is the least recently used
    await worker.store(meta(third, "SUCCESS", 3), { replyTo: client.replyTo });
    await client.waitFor(third, { timeoutMs: 5_000 });
    expect(await client.get(first)).toMatchObject({ result: 1 });
    expect(await client.get(second)).toBeNull();
  });

  it("reads a kept state as absent once resultExpiresMs passed", async () => {
    const { client, worker } = await fx.pair({ resultExpiresMs: 300 });
    const taskId = fx.id("expiry");
    await worker.store(meta(taskId, "SUCCESS", 1), { replyTo: client.replyTo });
    await client.waitFor(taskId, { timeoutMs: 5_000 });
    await sleep(350);
    expect(await client.get(taskId)).toBeNull();
  });
});
