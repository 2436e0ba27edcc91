import { currentTask, Ignore, Reject, Retry, UnrecoverableError } from "@tq/core";
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

class Flaky extends Error {
  override name = "Flaky";
}

describe("task.retry()", () => {
  it("retries with countdown, then fails with exc once its maxRetries is spent", async () => {
    const { app, worker, backend } = makeHarness();
    const runs: number[] = [];
    const retried: TaskRetriedEvent[] = [];
    worker.on("task-retried", (event) => retried.push(event));
    const flaky = app.task("tasks.flaky", () => {
      runs.push(currentTask()!.retries);
      throw flaky.retry({ exc: new Flaky("down"), countdown: 0.05, maxRetries: 2 });
    });
    await worker.start();
    const result = flaky.delay();
    await expect(result.get({ timeoutMs: 5_000 })).rejects.toMatchObject({ excType: "Flaky" });
    expect(runs).toEqual([0, 1, 2]);
    expect(retried.map((event) => (event.error as Error).message)).toEqual(["down", "down"]);
    expect(await backend.get(result.id)).toMatchObject({
      status: "FAILURE",
      result: { exc_type: "Flaky", exc_message: ["down"] },
    });
  });

  it("retries at the eta it is given", async () => {
    const { app, worker } = makeHarness();
    const etas: Date[] = [];
    worker.on("task-retried", (event) => etas.push(event.eta));
    const eta = new Date(Date.now() + 150);
    let ranAt = 0;
    const later = app.task("tasks.later", () => {
      if (currentTask()!.retries === 0) throw later.retry({ eta });
      ranAt = Date.now();
      return "done";
    });
    await worker.start();
    expect(await later.delay().get({ timeoutMs: 5_000 })).toBe("done");
    expect(etas).toEqual([eta]);
    expect(ranAt).toBeGreaterThanOrEqual(eta.getTime());
  });

  it("shows RETRY through AsyncResult.state() between runs", async () => {
    const { app, worker } = makeHarness();
    let release = (): void => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const waiting = app.task("tasks.waiting", async () => {
      if (currentTask()!.retries === 0) throw waiting.retry({ countdown: 0, exc: new Flaky("once") });
      await released;
      return "ok";
    });
    await worker.start();
    const result = waiting.delay();
    await expect.poll(() => result.state(), { timeout: 5_000 }).toBe("RETRY");
    release();
    expect(await result.get({ timeoutMs: 5_000 })).toBe("ok");
    expect(await result.state()).toBe("SUCCESS");
  });
});

describe("autoretryFor", () => {
  it("retries a matching error until the task succeeds", async () => {
    const { app, worker } = makeHarness();
    const runs: number[] = [];
    const task = app.task(
      "tasks.auto",
      () => {
        const { retries } = currentTask()!;
        runs.push(retries);
        if (retries < 2) throw new Flaky(`attempt ${retries}`);
        return retries;
      },
      { autoretryFor: [Flaky], retryKwargs: { countdown: 0 } },
    );
    await worker.start();
    expect(await task.delay().get({ timeoutMs: 5_000 })).toBe(2);
    expect(runs).toEqual([0, 1, 2]);
  });

  it("fails with the original error once retryKwargs.maxRetries is spent", async () => {
    const { app, worker, backend } = makeHarness();
    let runs = 0;
    const task = app.task(
      "tasks.auto",
      () => {
        runs += 1;
        throw new Flaky("still down");
      },
      { autoretryFor: [(error) => error instanceof Flaky], retryKwargs: { countdown: 0, maxRetries: 1 } },
    );
    await worker.start();
    const result = task.delay();
    await expect(result.get({ timeoutMs: 5_000 })).rejects.toMatchObject({ excType: "Flaky" });
    expect(runs).toBe(2);
    expect((await backend.get(result.id))?.result).toMatchObject({
      exc_type: "Flaky",
      exc_message: ["still down"],
    });
  });

  it("does not retry what dontAutoretryFor names, nor a call whose arguments do not fit", async () => {
    const { app, worker } = makeHarness();
    let runs = 0;
    const task = app.task(
      "tasks.auto",
      (_x: number) => {
        runs += 1;
        throw new RangeError("no");
      },
      { autoretryFor: [Error], dontAutoretryFor: [RangeError], retryKwargs: { countdown: 0 } },
    );
    await worker.start();
    await expect(task.delay(1).get({ timeoutMs: 5_000 })).rejects.toMatchObject({ excType: "RangeError" });
    expect(runs).toBe(1);
    const retried: unknown[] = [];
    worker.on("task-retried", (event) => retried.push(event));
    const unfit = app.sendTask("tasks.auto", [], { y: 2 });
    await expect(unfit.get({ timeoutMs: 5_000 })).rejects.toMatchObject({ excType: "TypeError" });
    expect(retried).toEqual([]);
    expect(runs).toBe(1);
  });
});

describe("Reject", () => {
  for (const acksLate of [true, false]) {
    it(`with requeue runs the task again (acksLate: ${acksLate})`, async () => {
      const { app, worker, server } = makeHarness();
      let runs = 0;
      const task = app.task(
        "tasks.bounce",
        () => {
          runs += 1;
          if (runs === 1) throw new Reject("not now", { requeue: true });
          return "second";
        },
        { acksLate },
      );
      await worker.start();
      expect(await task.delay().get({ timeoutMs: 5_000 })).toBe("second");
      expect(runs).toBe(2);
      await expect.poll(() => server.inFlightCount("celery") + server.readyCount("celery")).toBe(0);
    });

    it(`without requeue drops the message and stores nothing (acksLate: ${acksLate})`, async () => {
      const { app, worker, backend, server } = makeHarness({ worker: { concurrency: 1 } });
      let runs = 0;
      const task = app.task(
        "tasks.drop",
        () => {
          runs += 1;
          throw new Reject("bad message");
        },
        { acksLate },
      );
      const next = app.task("tasks.next", () => 1);
      await worker.start();
      const dropped = task.delay();
      await next.delay().get({ timeoutMs: 5_000 });
      expect(runs).toBe(1);
      expect(await backend.get(dropped.id)).toBeNull();
      await expect.poll(() => server.inFlightCount("celery") + server.readyCount("celery")).toBe(0);
    });
  }
});
