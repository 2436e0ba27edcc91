import {
  currentTask,
  Retry,
  type StandardSchemaV1,
  type TaskRequest,
  type TqSignals,
  updateState,
} from "@tq/core";
import { expect } from "vitest";
import { eventually } from "./wait.js";
import type { DefineWorkerTest } from "./worker-suite.js";

/** A Standard Schema written by hand (the suite depends on no schema library): two positive numbers. */
function positivePair(): StandardSchemaV1<[number, number]> {
  return {
    "~standard": {
      version: 1,
      vendor: "tq-suite",
      validate(value) {
        const list = Array.isArray(value) ? value : [];
        const issues = [0, 1]
          .filter((i) => typeof list[i] !== "number" || list[i] <= 0)
          .map((i) => ({ message: "expected a positive number", path: [i] }));
        return issues.length > 0 ? { issues } : { value: [list[0], list[1]] as [number, number] };
      },
    },
  };
}

/** A promise and the function that resolves it. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open = (): void => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

type Seen = { name: keyof TqSignals; payload: Record<string, unknown> };
const TASK_SIGNALS = [
  "taskPrerun",
  "taskPostrun",
  "taskSuccess",
  "taskFailure",
  "taskRetry",
  "taskRevoked",
] as const;

/**
 * The task's context and the hooks around it (issue 6, item 7) and argument validation (item 8):
 * `updateState` read from another app, the request's delivery info and workflow ids, Celery's signals
 * in order, and Standard Schema checks on both sides of the broker.
 */
export function registerContextWorkerTests(defineTest: DefineWorkerTest): void {
  defineTest(
    "updateState PROGRESS is read by AsyncResult from another app while the task runs",
    async (harness) => {
      const workerApp = harness.makeApp();
      const reported = gate();
      const finish = gate();
      workerApp.task("suite.progress", async (total: number) => {
        await updateState("PROGRESS", { current: 1, total });
        reported.open();
        await finish.opened;
        return total;
      });
      await harness.startWorker(workerApp);
      const result = harness.makeApp().sendTask<number>("suite.progress", [5]);
      try {
        await reported.opened;
        expect(await result.state()).toBe("PROGRESS");
        expect(await result.info()).toEqual({ current: 1, total: 5 });
        expect(await result.ready()).toBe(false);
      } finally {
        finish.open();
      }
      expect(await result.get({ timeout: harness.options.timeoutMs })).toBe(5);
      expect(await result.state()).toBe("SUCCESS");
    },
  );

  defineTest(
    "the request carries delivery info, parent and root ids and the message headers",
    async (harness) => {
      const workerApp = harness.makeApp();
      let request: TaskRequest | undefined;
      workerApp.task("suite.context", () => {
        request = currentTask();
        return request?.deliveryInfo.routingKey;
      });
      await harness.startWorker(workerApp);
      const result = harness.makeApp().sendTask(
        "suite.context",
        [],
        {},
        {
          parentId: "suite-parent",
          rootId: "suite-root",
          headers: { "x-suite": "context" },
        },
      );
      expect(await result.get({ timeout: harness.options.timeoutMs })).toBe(harness.queue);
      expect(request).toMatchObject({
        id: result.id,
        name: "suite.context",
        retries: 0,
        parentId: "suite-parent",
        rootId: "suite-root",
        queue: harness.queue,
      });
      expect(request?.headers["x-suite"]).toBe("context");
      expect(request?.deliveryInfo).toMatchObject({
        exchange: "",
        routingKey: harness.queue,
        redelivered: false,
      });
      expect(request?.signal).toBeInstanceOf(AbortSignal);
    },
  );

  defineTest(
    "hooks fire in Celery's order with their payloads: success, failure, retry, revoked",
    async (harness) => {
      const workerApp = harness.makeApp();
      const seen: Seen[] = [];
      for (const name of TASK_SIGNALS) {
        workerApp.signals.on(name, (payload) => {
          seen.push({ name, payload: payload as unknown as Record<string, unknown> });
        });
      }
      const ready: string[] = [];
      workerApp.signals.on("workerReady", ({ queues }) => void ready.push(...queues));
      workerApp.task("suite.add", (x: number, y: number) => x + y);
      workerApp.task("suite.fail", () => {
        throw new RangeError("suite failure");
      });
      let runs = 0;
      workerApp.task("suite.retry", () => {
        runs += 1;
        if (runs === 1) throw new Retry({ countdown: 0, cause: new Error("once more") });
        return "second";
      });
      workerApp.task("suite.expired", () => "never");
      await harness.startWorker(workerApp);
      expect(ready).toEqual([harness.queue]);
      const client = harness.makeApp();
      const timeout = harness.options.timeoutMs;
      const of = (id: string) => seen.filter((s) => s.payload.taskId === id);
      const names = (id: string) => of(id).map((s) => s.name);

      const added = client.sendTask("suite.add", [2, 3]);
      expect(await added.get({ timeout })).toBe(5);
      await eventually(() => of(added.id).length === 3, timeout, "the success signals");
      expect(names(added.id)).toEqual(["taskPrerun", "taskSuccess", "taskPostrun"]);
      expect(of(added.id)[0]?.payload).toMatchObject({ taskName: "suite.add", args: [2, 3], kwargs: {} });
      expect(of(added.id)[1]?.payload).toMatchObject({ result: 5 });
      expect(of(added.id)[2]?.payload).toMatchObject({ retval: 5, state: "SUCCESS" });

      const failed = client.sendTask("suite.fail");
      await expect(failed.get({ timeout })).rejects.toMatchObject({ excType: "RangeError" });
      await eventually(() => of(failed.id).length === 3, timeout, "the failure signals");
      expect(names(failed.id)).toEqual(["taskPrerun", "taskFailure", "taskPostrun"]);
      expect(of(failed.id)[1]?.payload).toMatchObject({
        error: expect.any(RangeError),
        exception: { exc_type: "RangeError", exc_message: ["suite failure"] },
      });
      expect(of(failed.id)[2]?.payload).toMatchObject({ state: "FAILURE" });

      const retried = client.sendTask("suite.retry");
      expect(await retried.get({ timeout })).toBe("second");
      await eventually(() => of(retried.id).length === 6, timeout, "the retry signals");
      expect(names(retried.id)).toEqual([
        "taskPrerun",
        "taskRetry",
        "taskPostrun",
        "taskPrerun",
        "taskSuccess",
        "taskPostrun",
      ]);
      expect(of(retried.id)[1]?.payload).toMatchObject({ reason: expect.any(Error), eta: expect.any(Date) });
      expect(of(retried.id)[2]?.payload).toMatchObject({ state: "RETRY" });

      const expired = client.sendTask("suite.expired", [], {}, { expires: new Date(Date.now() - 1_000) });
      await expect(expired.get({ timeout })).rejects.toMatchObject({ code: "TQ_TASK_REVOKED" });
      await eventually(() => of(expired.id).length === 1, timeout, "the revoked signal");
      expect(of(expired.id)[0]).toMatchObject({
        name: "taskRevoked",
        payload: { reason: "expired", expired: true, terminated: false },
      });
    },
  );

  defineTest("a call its schema rejects never reaches the broker", async (harness) => {
    const app = harness.makeApp();
    const add = app.task("suite.checked", (x, y) => x + y, { args: positivePair() });
    const broker = await app.getBroker();
    await broker.declareQueues?.([{ name: harness.queue }]);
    expect(() => add.delay(-1, 2)).toThrow(
      expect.objectContaining({
        code: "TQ_INVALID_ARGUMENTS",
        message: expect.stringContaining(
          "suite.checked() got invalid arguments: args[0]: expected a positive number",
        ),
      }),
    );
    expect(() => app.sendTask("suite.checked", [1, "2"])).toThrow(
      expect.objectContaining({ code: "TQ_INVALID_ARGUMENTS" }),
    );
    expect(await broker.queueLength(harness.queue)).toBe(0);
    await add.delay(1, 2).sent;
    await eventually(
      async () => (await broker.queueLength(harness.queue)) === 1,
      harness.options.timeoutMs,
      "the valid call",
    );
  });

  defineTest(
    "a bad message from another client fails with the validation message; the worker goes on",
    async (harness) => {
      const workerApp = harness.makeApp();
      workerApp.task("suite.checked", (x, y) => x * y, { args: positivePair() });
      await harness.startWorker(workerApp);
      const client = harness.makeApp();
      const timeout = harness.options.timeoutMs;
      const bad = client.sendTask("suite.checked", [3, "four"]);
      await expect(bad.get({ timeout })).rejects.toMatchObject({
        code: "TQ_TASK_FAILED",
        excType: "ValidationError",
        excModule: null,
        excMessage: ["[tq] suite.checked() got invalid arguments: args[1]: expected a positive number"],
      });
      expect(await bad.state()).toBe("FAILURE");
      expect(await client.sendTask("suite.checked", [3, 4]).get({ timeout })).toBe(12);
    },
  );
}
