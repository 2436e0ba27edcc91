import { currentTask, TqError } from "@tq/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanUp, makeHarness } from "./helpers.js";

afterEach(cleanUp);

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/;

describe("running tasks", () => {
  it("stores SUCCESS with every field of Celery's document", async () => {
    const { app, worker, backend } = makeHarness();
    const add = app.task("tasks.add", (x: number, y: number) => x + y);
    await worker.start();
    const result = add.delay(2, 3);
    expect(await result.get({ timeoutMs: 5_000 })).toBe(5);
    const meta = await backend.get(result.id);
    expect(meta).toEqual({
      task_id: result.id,
      status: "SUCCESS",
      result: 5,
      traceback: null,
      children: [],
      date_done: expect.stringMatching(ISO_UTC),
    });
  });

  it("stores FAILURE as Celery does, and get() rejects with TQ_TASK_FAILED", async () => {
    const { app, worker, backend } = makeHarness();
    const boom = app.task("tasks.boom", () => {
      throw new RangeError("too far");
    });
    await worker.start();
    const result = boom.delay();
    const error = await result.get({ timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(TqError.is(error, "TQ_TASK_FAILED")).toBe(true);
    const meta = await backend.get(result.id);
    expect(meta?.status).toBe("FAILURE");
    expect(meta?.result).toEqual({
      exc_type: "RangeError",
      exc_message: ["too far"],
      exc_module: "builtins",
    });
    expect(meta?.traceback).toContain("RangeError: too far");
    expect(meta?.date_done).toMatch(ISO_UTC);
  });

  it("binds keyword arguments through params", async () => {
    const { app, worker } = makeHarness();
    app.task("tasks.sub", (x: number, y: number) => x - y, { params: ["x", "y"] });
    await worker.start();
    const result = app.sendTask<number>("tasks.sub", [], { y: 2, x: 10 });
    expect(await result.get({ timeoutMs: 5_000 })).toBe(8);
  });

  it("fails with a TypeError when the arguments do not fit, and keeps going", async () => {
    const { app, worker, backend } = makeHarness();
    app.task("tasks.add", (x: number, y: number) => x + y);
    await worker.start();
    const wrong = app.sendTask("tasks.add", [1]);
    await expect(wrong.get({ timeoutMs: 5_000 })).rejects.toMatchObject({ code: "TQ_TASK_FAILED" });
    expect((await backend.get(wrong.id))?.result).toMatchObject({
      exc_type: "TypeError",
      exc_module: "builtins",
    });
    expect(await app.sendTask("tasks.add", [1, 2]).get({ timeoutMs: 5_000 })).toBe(3);
  });

  it("stores STARTED with pid and hostname when trackStarted is on", async () => {
    const { app, worker } = makeHarness({ worker: { hostname: "w1@test" } });
    const peek = app.task("tasks.peek", async () => app.asyncResult(currentTask()!.id).meta(), {
      trackStarted: true,
    });
    await worker.start();
    const seen = await peek.delay().get({ timeoutMs: 5_000 });
    expect(seen).toMatchObject({
      status: "STARTED",
      result: { pid: process.pid, hostname: "w1@test" },
      date_done: null,
    });
  });

  it("gives the task its request: id, queue, hostname, retries and a signal", async () => {
    const { app, worker } = makeHarness({ worker: { hostname: "w2@test", queues: ["jobs"] } });
    const whoami = app.task(
      "tasks.whoami",
      () => {
        const request = currentTask()!;
        return [request.id, request.queue, request.hostname, request.retries, request.signal.aborted];
      },
      { queue: "jobs" },
    );
    await worker.start();
    const result = whoami.delay();
    expect(await result.get({ timeoutMs: 5_000 })).toEqual([result.id, "jobs", "w2@test", 0, false]);
  });

  it("adds the extended fields with resultExtended, and group and parent ids when set", async () => {
    const { app, worker, backend } = makeHarness({
      app: { resultExtended: true },
      worker: { hostname: "w3@test" },
    });
    const add = app.task("tasks.add", (x: number, y: number) => x + y);
    await worker.start();
    const result = add.applyAsync([1, 2], {}, { groupId: "g-1", parentId: "p-1" });
    await result.get({ timeoutMs: 5_000 });
    expect(await backend.get(result.id)).toMatchObject({
      name: "tasks.add",
      args: [1, 2],
      kwargs: {},
      worker: "w3@test",
      retries: 0,
      queue: "celery",
      group_id: "g-1",
      parent_id: "p-1",
    });
  });

  it("stores nothing when the result is ignored", async () => {
    const { app, worker, backend } = makeHarness();
    const quiet = app.task("tasks.quiet", () => 1, { ignoreResult: true });
    const loud = app.task("tasks.loud", () => 2);
    let succeeded = 0;
    worker.on("task-succeeded", () => succeeded++);
    await worker.start();
    const ignored = quiet.delay();
    const byHeader = loud.applyAsync([], {}, { ignoreResult: true });
    await loud.delay().get({ timeoutMs: 5_000 });
    await vi.waitFor(() => expect(succeeded).toBe(3));
    expect(await backend.get(ignored.id)).toBeNull();
    expect(await backend.get(byHeader.id)).toBeNull();
  });

  it("fails a task at its hard time limit, aborts its signal and frees the slot", async () => {
    const { app, worker, backend } = makeHarness({ worker: { concurrency: 1 } });
    let aborted: unknown;
    const stuck = app.task(
      "tasks.stuck",
      () =>
        new Promise((_, reject) => {
          const { signal } = currentTask()!;
          signal.addEventListener("abort", () => {
            aborted = signal.reason;
            reject(signal.reason);
          });
        }),
      { timeLimit: 0.05 },
    );
    const quick = app.task("tasks.quick", () => "next");
    await worker.start();
    const result = stuck.delay();
    await expect(result.get({ timeoutMs: 5_000 })).rejects.toMatchObject({ code: "TQ_TASK_FAILED" });
    expect((await backend.get(result.id))?.result).toEqual({
      exc_type: "TimeLimitExceeded",
      exc_message: [0.05],
      exc_module: "celery.exceptions",
    });
    expect(TqError.is(aborted, "TQ_TIMEOUT")).toBe(true);
    expect(await quick.delay().get({ timeoutMs: 5_000 })).toBe("next");
  });

  it("logs success with the tq attributes and failure with the error", async () => {
    const { app, worker, logger } = makeHarness({ worker: {} });
    const ok = app.task("tasks.ok", () => 1);
    const bad = app.task("tasks.bad", () => {
      throw new Error("nope");
    });
    await worker.start();
    const good = ok.delay();
    await good.get({ timeoutMs: 5_000 });
    await bad
      .delay()
      .get({ timeoutMs: 5_000 })
      .catch(() => {});
    const success = logger.records.find((r) => r.message.startsWith("task succeeded in "));
    expect(success?.level).toBe("info");
    expect(success?.attributes).toMatchObject({
      "tq.task_id": good.id,
      "tq.task_name": "tasks.ok",
      "tq.queue": "celery",
      "tq.runtime_ms": expect.any(Number),
    });
    const failure = logger.records.find((r) => r.message.startsWith("task failed"));
    expect(failure?.level).toBe("error");
    expect(failure?.attributes.error).toBeInstanceOf(Error);
    expect((failure!.attributes.error as Error).stack).toContain("nope");
  });
});
