import { randomUUID } from "node:crypto";
import { type AsyncResult, buildTaskMessage, currentTask, jsonSerializer, TqError } from "@tq/core";
import { expect } from "vitest";
import { eventually } from "./wait.js";
import type { WorkerHarness } from "./worker-harness.js";
import type { DefineWorkerTest } from "./worker-suite.js";

const FLAGGED = "tasks flagged as revoked";

/** Resolves once `count` workers of the harness logged that they flagged `taskId` as revoked. */
async function untilFlagged(harness: WorkerHarness, taskId: string, count = 1): Promise<void> {
  const flagged = (): number =>
    harness.records.filter((record) => record.message.startsWith(FLAGGED) && record.message.includes(taskId))
      .length;
  await eventually(
    () => flagged() >= count,
    harness.options.timeoutMs,
    () => `${count} worker(s) to flag ${taskId} as revoked (${flagged()} did)`,
  );
}

/** The error a revoked task's result rejects with (TQ_TASK_REVOKED), or what it resolved to. */
async function outcome(result: AsyncResult, timeoutMs: number): Promise<unknown> {
  try {
    return { value: await result.get({ timeoutMs: timeoutMs }) };
  } catch (error) {
    return error;
  }
}

function expectRevoked(outcomeValue: unknown, reason: "revoked" | "terminated"): void {
  expect(TqError.is(outcomeValue, "TQ_TASK_REVOKED"), String(outcomeValue)).toBe(true);
  expect(outcomeValue).toMatchObject({ excType: "TaskRevokedError", excMessage: [reason] });
}

/**
 * Revocation (`app.control.revoke`, Celery's pidbox broadcast): revoked tasks are not run, wherever
 * they are when the revoke comes, on every worker of the broker; `terminate` stops a running one.
 */
export function registerRevokeWorkerTests(defineTest: DefineWorkerTest): void {
  defineTest(
    "1,000 revoked tasks are not run: each is REVOKED, none ran",
    async (harness) => {
      const app = harness.makeApp();
      let runs = 0;
      app.task("suite.revoked", () => {
        runs += 1;
      });
      const worker = await harness.startWorker(app);
      const revokedEvents = new Set<string>();
      worker.on("task-revoked", (event) => revokedEvents.add(event.taskId));
      const client = harness.makeApp();
      const ids = Array.from({ length: 1_000 }, () => randomUUID());
      await client.control.revoke(ids);
      await untilFlagged(harness, ids[999] as string);
      const results = ids.map((taskId) => client.sendTask("suite.revoked", [], {}, { taskId }));
      const outcomes = await Promise.all(results.map((result) => outcome(result, 60_000)));
      for (const value of outcomes) expectRevoked(value, "revoked");
      expect(runs).toBe(0);
      expect(revokedEvents.size).toBe(1_000);
      // Every message was acked: nothing waits in the queue, and the worker holds none.
      const broker = await client.getBroker();
      await eventually(
        async () => (await broker.queueLength(harness.queue)) === 0 && worker.stats().waiting === 0,
        harness.options.timeoutMs,
        "the queue to be empty",
      );
      // The worker still runs what was not revoked.
      app.task("suite.after", () => "after");
      expect(await client.sendTask("suite.after").get({ timeoutMs: harness.options.timeoutMs })).toBe(
        "after",
      );
    },
    { timeoutMs: 120_000 },
  );

  defineTest(
    "a revoke drops at once the tasks a worker holds: waiting for a slot or for their ETA",
    async (harness) => {
      const app = harness.makeApp();
      let release: () => void = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      const ran: string[] = [];
      app.task("suite.block", () => gate);
      app.task("suite.work", () => {
        ran.push(currentTask()!.id);
      });
      const worker = await harness.startWorker(app, { concurrency: 1, prefetchMultiplier: 10 });
      const client = harness.makeApp();
      const blocker = client.sendTask("suite.block");
      await eventually(() => worker.active === 1, harness.options.timeoutMs, "the blocking task to start");
      const waiting = client.sendTask("suite.work", [], {}, { taskId: randomUUID() });
      // Published as it is, with its ETA in the message: on every broker the worker itself holds it.
      const heldId = randomUUID();
      const held = buildTaskMessage(
        { id: heldId, task: "suite.work", args: [], kwargs: {}, eta: new Date(Date.now() + 30_000) },
        jsonSerializer,
      );
      await (await client.getBroker()).publish(held, { exchange: "", routingKey: harness.queue });
      await eventually(
        () => worker.stats().waiting === 1 && worker.stats().held === 1,
        harness.options.timeoutMs,
        () => `one waiting and one held task (stats: ${JSON.stringify(worker.stats())})`,
      );
      await client.control.revoke([waiting.id, heldId]);
      // Both end while the only slot is still taken and long before the ETA.
      expectRevoked(await outcome(waiting, harness.options.timeoutMs), "revoked");
      expectRevoked(await outcome(client.asyncResult(heldId), harness.options.timeoutMs), "revoked");
      expect(worker.stats()).toMatchObject({ waiting: 0, held: 0, running: 1 });
      release();
      await blocker.get({ timeoutMs: harness.options.timeoutMs });
      expect(ran).toEqual([]);
    },
  );

  defineTest("two workers on one broker both honour a revoke (broadcast)", async (harness) => {
    const ran: string[] = [];
    const apps = [harness.makeApp(), harness.makeApp()];
    const queues = [harness.queue, `${harness.queue}.b`];
    for (const [index, app] of apps.entries()) {
      app.task("suite.shared", () => {
        ran.push(`${index}:${currentTask()!.id}`);
        return index;
      });
      await harness.startWorker(app, {
        queues: [queues[index] as string],
        hostname: `w${index}-${randomUUID()}@suite`,
      });
    }
    const client = harness.makeApp();
    const ids = [randomUUID(), randomUUID()];
    await client.control.revoke(ids);
    await untilFlagged(harness, ids[1] as string, 2);
    for (const [index, taskId] of ids.entries()) {
      const result = client.sendTask("suite.shared", [], {}, { taskId, queue: queues[index] as string });
      expectRevoked(await outcome(result, harness.options.timeoutMs), "revoked");
    }
    // Each worker still runs a task that was not revoked.
    for (const [index, queue] of queues.entries()) {
      const result = client.sendTask<number>("suite.shared", [], {}, { queue });
      expect(await result.get({ timeoutMs: harness.options.timeoutMs })).toBe(index);
    }
    expect(ran.every((entry) => !ids.some((id) => entry.endsWith(id)))).toBe(true);
  });

  defineTest(
    "terminate stops a running task: its signal aborts, REVOKED terminated, the next task runs",
    async (harness) => {
      const app = harness.makeApp();
      let abortReason: unknown;
      app.task("suite.endless", async () => {
        const signal = currentTask()!.signal;
        await new Promise<void>((resolve) =>
          signal.addEventListener("abort", () => resolve(), { once: true }),
        );
        abortReason = signal.reason;
        return "ignored";
      });
      app.task("suite.next", () => "next");
      const worker = await harness.startWorker(app, { concurrency: 1 });
      const revoked: { taskId: string; reason: string }[] = [];
      worker.on("task-revoked", (event) => revoked.push(event));
      const client = harness.makeApp();
      const running = client.sendTask("suite.endless");
      await eventually(() => worker.active === 1, harness.options.timeoutMs, "the endless task to start");
      await client.control.revoke(running.id, { terminate: true });
      expectRevoked(await outcome(running, harness.options.timeoutMs), "terminated");
      expect(abortReason).toMatchObject({ code: "TQ_TASK_REVOKED", excMessage: ["terminated"] });
      expect(revoked).toEqual([expect.objectContaining({ taskId: running.id, reason: "terminated" })]);
      expect(await client.sendTask("suite.next").get({ timeoutMs: harness.options.timeoutMs })).toBe("next");
    },
  );
}
