import type { TransportMessage } from "@tq/core";
import { afterEach, describe, expect, it } from "vitest";
import { cleanUp, makeHarness, publishRaw, sleep, taskMessage } from "./helpers.js";

afterEach(cleanUp);

describe("scheduling", () => {
  it("never runs more than `concurrency` tasks at once", async () => {
    const { app, worker } = makeHarness({ worker: { concurrency: 3, prefetchMultiplier: 2 } });
    let running = 0;
    let most = 0;
    const work = app.task("tasks.work", async (n: number) => {
      running += 1;
      most = Math.max(most, running, worker.active);
      await sleep(20);
      running -= 1;
      return n;
    });
    await worker.start();
    const results = Array.from({ length: 12 }, (_, n) => work.delay(n));
    expect(await Promise.all(results.map((r) => r.get({ timeoutMs: 5_000 })))).toEqual([...Array(12).keys()]);
    expect(most).toBe(3);
  });

  it("holds a message until its ETA without taking a concurrency slot", async () => {
    const { app, worker, broker } = makeHarness({ worker: { concurrency: 1 } });
    const order: string[] = [];
    let ranAt = 0;
    app.task("tasks.later", () => {
      ranAt = Date.now();
      order.push("later");
    });
    const now = app.task("tasks.now", () => order.push("now"));
    await worker.start();
    // Published raw, without the broker's delayed delivery, as a client of a broker without it would.
    const eta = new Date(Date.now() + 200);
    const message = taskMessage("tasks.later", [], { eta });
    await publishRaw(broker, "celery", message);
    await now.delay().get({ timeoutMs: 5_000 });
    expect(order).toEqual(["now"]);
    await app.asyncResult(String(message.headers.id)).get({ timeoutMs: 5_000 });
    expect(order).toEqual(["now", "later"]);
    expect(ranAt).toBeGreaterThanOrEqual(eta.getTime());
  });

  it("honours a countdown sent through the app", async () => {
    const { app, worker } = makeHarness();
    let ranAt = 0;
    const later = app.task("tasks.later", () => {
      ranAt = Date.now();
    });
    await worker.start();
    const before = Date.now();
    await later.applyAsync([], {}, { countdown: 0.1 }).get({ timeoutMs: 5_000 });
    expect(ranAt).toBeGreaterThanOrEqual(before + 100);
  });

  it("revokes a task whose expiry passed before it could start", async () => {
    const { app, worker, backend } = makeHarness({ worker: { concurrency: 1 } });
    const never = app.task("tasks.never", () => "ran");
    const revoked: string[] = [];
    worker.on("task-revoked", (event) => revoked.push(event.taskId));
    await worker.start();
    const result = never.applyAsync([], {}, { expires: new Date(Date.now() - 1_000) });
    await expect(result.get({ timeoutMs: 5_000 })).rejects.toMatchObject({ code: "TQ_TASK_REVOKED" });
    expect(await backend.get(result.id)).toMatchObject({
      status: "REVOKED",
      result: { exc_type: "TaskRevokedError", exc_message: ["expired"], exc_module: "celery.exceptions" },
    });
    expect(revoked).toEqual([result.id]);
  });

  it("revokes a task that expires while it waits for its ETA", async () => {
    const { app, worker, broker } = makeHarness();
    app.task("tasks.never", () => "ran");
    await worker.start();
    const message = buildExpiring();
    await publishRaw(broker, "celery", message);
    await expect(app.asyncResult(String(message.headers.id)).get({ timeoutMs: 5_000 })).rejects.toMatchObject(
      {
        code: "TQ_TASK_REVOKED",
      },
    );

    function buildExpiring(): TransportMessage {
      const msg = taskMessage("tasks.never", [], { eta: new Date(Date.now() + 100) });
      return { ...msg, headers: { ...msg.headers, expires: new Date(Date.now() + 50).toISOString() } };
    }
  });
});
