import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanUp, makeHarness } from "./helpers.js";

afterEach(cleanUp);

describe("resilience", () => {
  it("keeps running tasks when the result backend fails, and logs the failed writes", async () => {
    const { app, worker, backend, logger } = makeHarness();
    const add = app.task("tasks.add", (x: number, y: number) => x + y);
    const results: unknown[] = [];
    worker.on("task-succeeded", (event) => results.push(event.result));
    await worker.start();
    await backend.close();
    add.delay(1, 1);
    add.delay(2, 2);
    await vi.waitFor(() => expect(results).toEqual([2, 4]));
    const lines = logger.records.filter((r) => r.message === "could not store the SUCCESS state of a task");
    expect(lines).toHaveLength(2);
    expect(lines[0]?.attributes).toMatchObject({ "tq.task_name": "tasks.add", error: { code: "TQ_CLOSED" } });
  });

  it("stores kombu's EncodeError when the return value cannot be stored", async () => {
    const { app, worker, backend } = makeHarness();
    const odd = app.task("tasks.odd", () => () => "a function is no result");
    await worker.start();
    const result = odd.delay();
    await expect(result.get({ timeoutMs: 5_000 })).rejects.toMatchObject({ excType: "EncodeError" });
    expect((await backend.get(result.id))?.result).toMatchObject({
      exc_type: "EncodeError",
      exc_module: "kombu.exceptions",
    });
  });

  it("survives a listener that throws", async () => {
    const { app, worker, logger } = makeHarness();
    const add = app.task("tasks.add", (x: number, y: number) => x + y);
    worker.on("task-succeeded", () => {
      throw new Error("listener bug");
    });
    await worker.start();
    expect(await add.delay(1, 2).get({ timeoutMs: 5_000 })).toBe(3);
    expect(await add.delay(3, 4).get({ timeoutMs: 5_000 })).toBe(7);
    expect(logger.records.some((r) => r.message === 'a "task-succeeded" listener threw')).toBe(true);
  });
});
