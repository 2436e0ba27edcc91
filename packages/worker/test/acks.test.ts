import { currentTask, MemoryServer, Reject } from "@tq/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanUp, makeHarness } from "./helpers.js";

afterEach(cleanUp);

/** A task that never ends on worker A (until aborted) and returns who ran it elsewhere. */
function registerSlow(app: ReturnType<typeof makeHarness>["app"], started: () => void, acksLate: boolean) {
  return app.task(
    "tasks.slow",
    async () => {
      const request = currentTask()!;
      if (request.hostname === "a@test") {
        started();
        await new Promise((_, reject) =>
          request.signal.addEventListener("abort", () => reject(request.signal.reason)),
        );
      }
      return { by: request.hostname, redelivered: request.redelivered };
    },
    { acksLate },
  );
}

describe("acknowledgements", () => {
  it("redelivers an acks-late task to another worker when the first one dies", async () => {
    const server = new MemoryServer();
    const a = makeHarness({ server, worker: { hostname: "a@test" } });
    const b = makeHarness({ server, backend: a.backend, worker: { hostname: "b@test" } });
    let startedOnA!: () => void;
    const onA = new Promise<void>((resolve) => (startedOnA = resolve));
    const slow = registerSlow(a.app, startedOnA, true);
    registerSlow(b.app, () => {}, true);
    await a.worker.start();
    const result = slow.delay();
    await onA;
    expect(server.inFlightCount("celery")).toBe(1);
    // Process A dies: its broker connection goes away without the worker stopping cleanly.
    await a.broker.close();
    await b.worker.start();
    expect(await result.get({ timeoutMs: 5_000 })).toEqual({ by: "b@test", redelivered: true });
  });

  it("does not redeliver an acks-early task once it started", async () => {
    const server = new MemoryServer();
    const a = makeHarness({ server, worker: { hostname: "a@test" } });
    let startedOnA!: () => void;
    const onA = new Promise<void>((resolve) => (startedOnA = resolve));
    const slow = registerSlow(a.app, startedOnA, false);
    await a.worker.start();
    slow.delay();
    await onA;
    expect(server.inFlightCount("celery")).toBe(0);
    await a.broker.close();
    expect(server.readyCount("celery")).toBe(0);
    expect(server.inFlightCount("celery")).toBe(0);
  });

  it("acks a failed acks-late task, as Celery does", async () => {
    const { app, worker, server } = makeHarness();
    const boom = app.task(
      "tasks.boom",
      () => {
        throw new Error("no");
      },
      { acksLate: true },
    );
    await worker.start();
    await expect(boom.delay().get({ timeoutMs: 5_000 })).rejects.toMatchObject({ code: "TQ_TASK_FAILED" });
    await vi.waitFor(() => expect(server.inFlightCount("celery")).toBe(0));
    expect(server.readyCount("celery")).toBe(0);
  });

  it("requeues on Reject with requeue, drops on Reject, and stores nothing", async () => {
    const { app, worker, backend, server } = makeHarness({ worker: { deadLetterQueue: null } });
    let attempts = 0;
    const picky = app.task(
      "tasks.picky",
      (requeue: boolean) => {
        attempts += 1;
        if (requeue && attempts === 1) throw new Reject("not now", { requeue: true });
        if (!requeue) throw new Reject("never");
        return "second time";
      },
      { acksLate: true },
    );
    const rejections: boolean[] = [];
    worker.on("task-rejected", (event) => rejections.push(event.requeue));
    await worker.start();
    expect(await picky.delay(true).get({ timeoutMs: 5_000 })).toBe("second time");
    const dropped = picky.delay(false);
    await vi.waitFor(() => expect(rejections).toEqual([true, false]));
    expect(await backend.get(dropped.id)).toBeNull();
    expect(server.readyCount("celery") + server.inFlightCount("celery")).toBe(0);
  });
});
