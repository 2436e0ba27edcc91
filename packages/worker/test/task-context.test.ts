import { currentTask, type TaskRequest, TqError, updateState } from "@tq/core";
import { afterEach, describe, expect, it } from "vitest";
import { createTaskRequest } from "../src/build-request.js";
import { cleanUp, makeHarness, publishRaw, taskMessage } from "./helpers.js";

afterEach(cleanUp);

/** A promise and the function that resolves it. */
function latch(): { promise: Promise<void>; open: () => void } {
  let open = (): void => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

async function until(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("the task's request", () => {
  it("carries id, retries, headers, workflow ids, delivery info and a signal", async () => {
    const { app, worker } = makeHarness();
    let seen: TaskRequest | undefined;
    let signal: AbortSignal | undefined;
    app.task("tasks.look", () => {
      seen = currentTask();
      signal = seen?.signal;
    });
    await worker.start();
    const result = app.sendTask(
      "tasks.look",
      [],
      {},
      {
        headers: { "x-tenant": "acme" },
        priority: 7,
        parentId: "parent-1",
        rootId: "root-1",
        retries: 2,
      },
    );
    await result.get({ timeoutMs: 5_000 });
    expect(seen).toMatchObject({
      id: result.id,
      name: "tasks.look",
      retries: 2,
      parentId: "parent-1",
      rootId: "root-1",
      queue: "celery",
      redelivered: false,
    });
    expect(seen?.headers["x-tenant"]).toBe("acme");
    expect(seen?.deliveryInfo).toEqual({
      exchange: "",
      routingKey: "celery",
      priority: 7,
      redelivered: false,
    });
    expect(signal).toBeInstanceOf(AbortSignal);
  });

  it("createTaskRequest builds the same request from plain data, as a pool's child does", async () => {
    const message = (await import("@tq/core")).parseTaskMessage(taskMessage("tasks.x", [1]), [
      (await import("@tq/core")).jsonSerializer,
    ]);
    const controller = new AbortController();
    const stored: unknown[] = [];
    const request = createTaskRequest(
      message,
      { queue: "q1", redelivered: true, exchange: "tasks", routingKey: "x.key" },
      "w@host",
      { signal: controller.signal },
      async (req, state, meta) => void stored.push([req.id, state, meta]),
    );
    expect(request).toMatchObject({
      id: message.id,
      name: "tasks.x",
      args: [1],
      hostname: "w@host",
      queue: "q1",
    });
    expect(request.deliveryInfo).toEqual({
      exchange: "tasks",
      routingKey: "x.key",
      priority: 0,
      redelivered: true,
    });
    expect(request.signal).toBe(controller.signal);
    await request.updateState("PROGRESS", { n: 1 });
    expect(stored).toEqual([[message.id, "PROGRESS", { n: 1 }]]);
  });
});

describe("updateState", () => {
  it("stores PROGRESS with its meta while the task runs; AsyncResult reads state() and info()", async () => {
    const { app, worker } = makeHarness();
    const step = latch();
    const finish = latch();
    const work = app.task("tasks.work", async (total: number) => {
      await currentTask()?.updateState("PROGRESS", { current: 1, total });
      step.open();
      await finish.promise;
      await updateState("ALMOST", { current: total, total });
      return "done";
    });
    await worker.start();
    const result = work.delay(10);
    await step.promise;
    expect(await result.state()).toBe("PROGRESS");
    expect(await result.info()).toEqual({ current: 1, total: 10 });
    expect(await result.ready()).toBe(false);
    finish.open();
    expect(await result.get({ timeoutMs: 5_000 })).toBe("done");
    expect(await result.info()).toBe("done");
  });

  it("stores even for a task whose results are ignored, with Celery's extended fields when on", async () => {
    const { app, worker, backend } = makeHarness({ app: { resultExtended: true } });
    const done = latch();
    const quiet = app.task(
      "tasks.quiet",
      async () => {
        await updateState("PROGRESS", { step: "a" });
        done.open();
      },
      { ignoreResult: true },
    );
    await worker.start();
    const result = quiet.delay();
    await done.promise;
    await until(async () => (await backend.get(result.id)) !== null);
    expect(await backend.get(result.id)).toMatchObject({
      status: "PROGRESS",
      result: { step: "a" },
      date_done: null,
      name: "tasks.quiet",
      queue: "celery",
    });
  });

  it("rejects with TQ_CONFIG in an app without a result backend; the task can catch it", async () => {
    const { app, worker } = makeHarness({ app: { resultBackend: null } });
    let caught: unknown;
    const done = latch();
    app.task("tasks.nobackend", async () => {
      caught = await updateState("PROGRESS").catch((error: unknown) => error);
      done.open();
    });
    await worker.start();
    await app.sendTask("tasks.nobackend").sent;
    await done.promise;
    expect(TqError.is(caught, "TQ_CONFIG")).toBe(true);
  });
});

describe("argument validation on the worker", () => {
  // A Standard Schema written by hand: the worker package does not depend on a schema library.
  const positivePair = {
    "~standard": {
      version: 1 as const,
      vendor: "test",
      validate(value: unknown) {
        const list = value as unknown[];
        const issues = [0, 1]
          .filter((i) => typeof list[i] !== "number" || (list[i] as number) <= 0)
          .map((i) => ({ message: "expected a positive number", path: [i] }));
        return issues.length > 0
          ? { issues }
          : { value: [list[0] as number, (list[1] as number) * 10] as [number, number] };
      },
    },
  };

  it("fails a message from another client with ValidationError and keeps going", async () => {
    const { app, worker, backend, server } = makeHarness();
    app.task("tasks.add", (x, y) => x + y, { args: positivePair, params: ["x", "y"] });
    await worker.start();
    const client = makeHarness({ server, backend }).app;
    const bad = client.sendTask("tasks.add", ["1", -2]);
    const error = await bad.get({ timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "TQ_TASK_FAILED", excType: "ValidationError", excModule: null });
    const meta = await backend.get(bad.id);
    expect(meta?.result).toEqual({
      exc_type: "ValidationError",
      exc_message: [
        "[tq] tasks.add() got invalid arguments: x: expected a positive number; y: expected a positive number",
      ],
      exc_module: null,
    });
    // Keyword arguments are bound first; the function gets the validated (transformed) values.
    expect(await client.sendTask("tasks.add", [1], { y: 2 }).get({ timeoutMs: 5_000 })).toBe(21);
  });

  it("validates asynchronous schemas too", async () => {
    const { app, worker, broker } = makeHarness();
    const asyncSchema = {
      "~standard": {
        version: 1 as const,
        vendor: "test",
        validate: async (value: unknown) =>
          typeof (value as unknown[])[0] === "string"
            ? { value: value as [string] }
            : { issues: [{ message: "expected a string", path: [{ key: 0 }] }] },
      },
    };
    app.task("tasks.echo", (s) => s, { args: asyncSchema });
    await worker.start();
    const message = taskMessage("tasks.echo", [5]);
    await publishRaw(broker, "celery", message);
    const id = message.headers.id as string;
    await expect(app.asyncResult(id).get({ timeoutMs: 5_000 })).rejects.toMatchObject({
      excType: "ValidationError",
      message: expect.stringContaining("args[0]: expected a string"),
    });
    expect(await app.sendTask("tasks.echo", ["ok"]).get({ timeoutMs: 5_000 })).toBe("ok");
  });
});
