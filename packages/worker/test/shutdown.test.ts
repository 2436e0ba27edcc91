import { once } from "node:events";
import { currentTask, MemoryServer } from "@tq/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanUp, makeHarness, sleep } from "./helpers.js";

afterEach(cleanUp);

/** Resolves when the worker emitted `task-received` this many times. */
function received(worker: ReturnType<typeof makeHarness>["worker"], count: number): Promise<void> {
  let seen = 0;
  return new Promise((resolve) => worker.on("task-received", () => ++seen === count && resolve()));
}

describe("stopping", () => {
  it("finishes the running task and puts prefetched ones back", async () => {
    const { app, worker, backend, server } = makeHarness({
      worker: { concurrency: 1, prefetchMultiplier: 4 },
    });
    const slow = app.task("tasks.slow", async () => {
      await sleep(300);
      return "done";
    });
    const other = app.task("tasks.other", () => "other");
    const allReceived = received(worker, 4);
    const started = once(worker, "task-started");
    const stopped = once(worker, "stopped");
    await worker.start();
    const result = slow.delay();
    for (let i = 0; i < 3; i++) other.delay();
    await Promise.all([allReceived, started]);
    await worker.stop();
    await stopped;
    expect(await backend.get(result.id)).toMatchObject({ status: "SUCCESS", result: "done" });
    expect(server.readyCount("celery")).toBe(3);
    expect(server.inFlightCount("celery")).toBe(0);
    expect(worker.active).toBe(0);
  });

  it("is idempotent", async () => {
    const { worker } = makeHarness();
    await worker.start();
    const first = worker.stop();
    expect(worker.stop()).toBe(first);
    await first;
    await expect(worker.start()).rejects.toMatchObject({ code: "TQ_CLOSED" });
  });

  it("publishes an acks-early task again when it outlives the deadline, and discards its late result", async () => {
    const server = new MemoryServer();
    const a = makeHarness({ server, worker: { shutdownTimeoutMs: 50 } });
    const stubborn = a.app.task("tasks.stubborn", async () => {
      // Ignores its signal on purpose: the worker must not wait for it, nor keep what it returns.
      await sleep(300);
      return currentTask()!.hostname;
    });
    await a.worker.start();
    const started = once(a.worker, "task-started");
    const result = stubborn.delay();
    await started;
    await a.worker.stop();
    expect(server.readyCount("celery")).toBe(1);
    await sleep(400);
    expect(await a.backend.get(result.id)).toBeNull();
    // Nothing was lost: the next worker runs it.
    const b = makeHarness({ server, backend: a.backend, worker: { hostname: "b@test" } });
    b.app.task("tasks.stubborn", () => currentTask()!.hostname);
    await b.worker.start();
    expect(await result.get({ timeoutMs: 5_000 })).toBe("b@test");
  });

  it("requeues an acks-late task that outlives the deadline, and aborts its signal", async () => {
    const { app, worker, server } = makeHarness({ worker: { shutdownTimeoutMs: 50 } });
    let reason: unknown;
    const endless = app.task(
      "tasks.endless",
      () =>
        new Promise((_, reject) => {
          const { signal } = currentTask()!;
          signal.addEventListener("abort", () => {
            reason = signal.reason;
            reject(reason);
          });
        }),
      { acksLate: true },
    );
    await worker.start();
    const started = once(worker, "task-started");
    endless.delay();
    await started;
    await worker.stop();
    expect(reason).toMatchObject({ code: "TQ_ABORTED" });
    expect(server.readyCount("celery")).toBe(1);
    expect(server.inFlightCount("celery")).toBe(0);
  });

  it("stops at once when asked again with a zero timeout", async () => {
    const { app, worker, server } = makeHarness({ worker: { shutdownTimeoutMs: 60_000 } });
    const endless = app.task("tasks.endless", () => new Promise(() => {}), { acksLate: true });
    await worker.start();
    const started = once(worker, "task-started");
    endless.delay();
    await started;
    const stopping = worker.stop();
    await sleep(10);
    void worker.stop({ timeoutMs: 0 });
    await stopping;
    await vi.waitFor(() => expect(server.readyCount("celery")).toBe(1));
  });
});
