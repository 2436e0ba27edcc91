import { currentTask, Ignore, Retry, UnrecoverableError } from "@tq/core";
import { afterEach, describe, expect, it } from "vitest";
import type { TaskRetriedEvent } from "../src/index.js";
import { cleanUp, makeHarness } from "./helpers.js";

afterEach(cleanUp);

describe("Retry", () => {
  it("sends the task again with the same id until it succeeds", async () => {
    const { app, worker, backend } = makeHarness();
    const seen: number[] = [];
    const states: unknown[] = [];
    const flaky = app.task("tasks.flaky", async (x: number) => {
      const request = currentTask()!;
      seen.push(request.retries);
      if (request.retries > 0) states.push(await backend.get(request.id));
      if (request.retries < 2)
        throw new Retry({ countdown: 0, cause: new Error(`flaky ${request.retries}`) });
      return x * 2;
    });
    const retried: TaskRetriedEvent[] = [];
    worker.on("task-retried", (event) => retried.push(event));
    await worker.start();
    const result = flaky.applyAsync([21], {}, { headers: { x_trace: "abc" } });
    expect(await result.get({ timeoutMs: 5_000 })).toBe(42);
    expect(seen).toEqual([0, 1, 2]);
    expect(retried.map((event) => [event.taskId, event.retries])).toEqual([
      [result.id, 0],
      [result.id, 1],
    ]);
    // What the second run saw: the first run's RETRY, with the cause's exception.
    expect(states[0]).toMatchObject({
      status: "RETRY",
      result: { exc_type: "Error", exc_message: ["flaky 0"], exc_module: "builtins" },
      date_done: null,
    });
  });

  it("keeps custom headers and workflow ids on the retried message", async () => {
    const { app, worker } = makeHarness();
    const headers: unknown[] = [];
    const once = app.task("tasks.once", () => {
      const request = currentTask()!;
      headers.push([request.headers.x_trace, request.rootId, request.parentId]);
      if (request.retries === 0) throw new Retry({ countdown: 0 });
      return "ok";
    });
    await worker.start();
    await once.applyAsync([], {}, { headers: { x_trace: "abc" }, rootId: "root", parentId: "parent" }).get({
      timeoutMs: 5_000,
    });
    expect(headers).toEqual([
      ["abc", "root", "parent"],
      ["abc", "root", "parent"],
    ]);
  });

  it("keeps callbacks, errbacks and chain steps on the retried message", async () => {
    const { app, worker } = makeHarness();
    const embeds: unknown[] = [];
    const link = {
      task: "tasks.next",
      args: [],
      kwargs: {},
      options: {},
      subtask_type: null,
      immutable: false,
    };
    const once = app.task("tasks.linked", () => {
      const request = currentTask()!;
      embeds.push(request.message.embed.callbacks);
      if (request.retries === 0) throw new Retry({ countdown: 0 });
      return "ok";
    });
    await worker.start();
    await once.applyAsync([], {}, { embed: { callbacks: [link] } }).get({ timeoutMs: 5_000 });
    expect(embeds).toEqual([[link], [link]]);
  });

  it("fails with the cause once maxRetries is spent", async () => {
    const { app, worker, backend } = makeHarness();
    const always = app.task(
      "tasks.always",
      () => {
        throw new Retry({ countdown: 0, cause: new TypeError("still broken") });
      },
      { maxRetries: 1 },
    );
    await worker.start();
    const result = always.delay();
    await expect(result.get({ timeoutMs: 5_000 })).rejects.toMatchObject({ code: "TQ_TASK_FAILED" });
    expect(await backend.get(result.id)).toMatchObject({
      status: "FAILURE",
      result: { exc_type: "TypeError", exc_message: ["still broken"], exc_module: "builtins" },
    });
  });

  it("fails with MaxRetriesExceededError when the Retry had no cause", async () => {
    const { app, worker, backend } = makeHarness();
    const always = app.task(
      "tasks.always",
      () => {
        throw new Retry({ countdown: 0 });
      },
      { maxRetries: 0 },
    );
    await worker.start();
    const result = always.delay();
    await expect(result.get({ timeoutMs: 5_000 })).rejects.toMatchObject({ code: "TQ_TASK_FAILED" });
    expect((await backend.get(result.id))?.result).toMatchObject({
      exc_type: "MaxRetriesExceededError",
      exc_module: "celery.exceptions",
    });
  });

  it("does not retry an UnrecoverableError", async () => {
    const { app, worker } = makeHarness();
    let runs = 0;
    const fatal = app.task("tasks.fatal", () => {
      runs += 1;
      throw new Retry({ countdown: 0, cause: new UnrecoverableError("bad input") });
    });
    await worker.start();
    await expect(fatal.delay().get({ timeoutMs: 5_000 })).rejects.toMatchObject({
      excType: "UnrecoverableError",
    });
    expect(runs).toBe(1);
  });

  it("stores nothing for Ignore", async () => {
    const { app, worker, backend, server } = makeHarness({ worker: { concurrency: 1 } });
    const skip = app.task("tasks.skip", () => {
      throw new Ignore();
    });
    const next = app.task("tasks.next", () => 1);
    await worker.start();
    const ignored = skip.delay();
    await next.delay().get({ timeoutMs: 5_000 });
    expect(await backend.get(ignored.id)).toBeNull();
    expect(server.inFlightCount("celery") + server.readyCount("celery")).toBe(0);
  });
});
