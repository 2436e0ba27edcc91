import { Ignore, Reject, Retry, type TaskPostrunPayload, type TqSignals } from "@tq/core";
import { afterEach, describe, expect, it } from "vitest";
import { cleanUp, makeHarness, publishRaw, taskMessage } from "./helpers.js";

afterEach(cleanUp);

type Seen = { name: keyof TqSignals; payload: Record<string, unknown> };

/** Connects a recorder to every task signal of the app. */
function record(app: ReturnType<typeof makeHarness>["app"]): Seen[] {
  const seen: Seen[] = [];
  const names = [
    "taskPrerun",
    "taskPostrun",
    "taskSuccess",
    "taskFailure",
    "taskRetry",
    "taskRevoked",
  ] as const;
  for (const name of names) {
    app.signals.on(
      name,
      (payload) => void seen.push({ name, payload: payload as unknown as Record<string, unknown> }),
    );
  }
  return seen;
}

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("task signals", () => {
  it("sends prerun, success, postrun in order with Celery's arguments", async () => {
    const { app, worker } = makeHarness();
    const add = app.task("tasks.add", (x: number, y: number) => x + y);
    const seen = record(app);
    await worker.start();
    const result = add.applyAsync([2, 3]);
    expect(await result.get({ timeoutMs: 5_000 })).toBe(5);
    await until(() => seen.length === 3);
    expect(seen.map((s) => s.name)).toEqual(["taskPrerun", "taskSuccess", "taskPostrun"]);
    const [prerun, success, postrun] = seen.map((s) => s.payload);
    expect(prerun).toMatchObject({
      taskId: result.id,
      taskName: "tasks.add",
      task: add,
      args: [2, 3],
      kwargs: {},
    });
    expect(success).toMatchObject({ taskId: result.id, result: 5 });
    expect(postrun).toMatchObject({ taskId: result.id, retval: 5, state: "SUCCESS", args: [2, 3] });
    // One request for the whole run, the one the task saw.
    expect(success?.request).toBe(prerun?.request);
    expect(postrun?.request).toBe(prerun?.request);
    expect((prerun?.request as { id: string } | undefined)?.id).toBe(result.id);
  });

  it("sends failure then postrun FAILURE with the error, the stored exception and traceback", async () => {
    const { app, worker } = makeHarness();
    const boom = app.task("tasks.boom", () => {
      throw new RangeError("too far");
    });
    const seen = record(app);
    await worker.start();
    const result = boom.delay();
    await result.get({ timeoutMs: 5_000 }).catch(() => {});
    await until(() => seen.length === 3);
    expect(seen.map((s) => s.name)).toEqual(["taskPrerun", "taskFailure", "taskPostrun"]);
    expect(seen[1]?.payload).toMatchObject({
      taskId: result.id,
      error: expect.any(RangeError),
      exception: { exc_type: "RangeError", exc_message: ["too far"], exc_module: "builtins" },
      traceback: expect.stringContaining("RangeError: too far"),
    });
    expect(seen[2]?.payload).toMatchObject({ state: "FAILURE", retval: expect.any(RangeError) });
  });

  it("sends retry with the reason and eta, then postrun RETRY; the retried run sends its own", async () => {
    const { app, worker } = makeHarness();
    const cause = new Error("flaky");
    let runs = 0;
    const flaky = app.task("tasks.flaky", () => {
      runs += 1;
      if (runs === 1) throw new Retry({ countdown: 0, cause });
      return "ok";
    });
    const seen = record(app);
    await worker.start();
    expect(await flaky.delay().get({ timeoutMs: 5_000 })).toBe("ok");
    await until(() => seen.length === 6);
    expect(seen.map((s) => s.name)).toEqual([
      "taskPrerun",
      "taskRetry",
      "taskPostrun",
      "taskPrerun",
      "taskSuccess",
      "taskPostrun",
    ]);
    expect(seen[1]?.payload).toMatchObject({ reason: cause, eta: expect.any(Date) });
    expect(seen[2]?.payload).toMatchObject({ state: "RETRY" });
    expect((seen[3]?.payload.request as { retries: number } | undefined)?.retries).toBe(1);
  });

  it("sends postrun REJECTED and IGNORED for Reject and Ignore", async () => {
    const { app, worker } = makeHarness();
    app.task("tasks.reject", () => {
      throw new Reject("no");
    });
    app.task("tasks.ignore", () => {
      throw new Ignore();
    });
    const states: string[] = [];
    app.signals.on("taskPostrun", ({ taskName, state }) => void states.push(`${taskName} ${state}`));
    await worker.start();
    await app.sendTask("tasks.reject").sent;
    await app.sendTask("tasks.ignore").sent;
    await until(() => states.length === 2);
    expect(states.sort()).toEqual(["tasks.ignore IGNORED", "tasks.reject REJECTED"]);
  });

  it("sends revoked for an expired task, with expired true, and no prerun", async () => {
    const { app, worker } = makeHarness();
    app.task("tasks.late", () => "never");
    const seen = record(app);
    await worker.start();
    const result = app.sendTask("tasks.late", [], {}, { expires: new Date(Date.now() - 1_000) });
    await expect(result.get({ timeoutMs: 5_000 })).rejects.toMatchObject({ code: "TQ_TASK_REVOKED" });
    await until(() => seen.length === 1);
    expect(seen[0]?.name).toBe("taskRevoked");
    expect(seen[0]?.payload).toMatchObject({
      taskId: result.id,
      reason: "expired",
      expired: true,
      terminated: false,
    });
    expect((seen[0]?.payload.request as { id: string } | undefined)?.id).toBe(result.id);
  });

  it("a handler that throws is logged and the worker goes on", async () => {
    const { app, worker, logger } = makeHarness();
    app.task("tasks.add", (x: number, y: number) => x + y);
    app.signals.on("taskPrerun", () => {
      throw new Error("hook bug");
    });
    const postruns: TaskPostrunPayload[] = [];
    app.signals.on("taskPostrun", async (payload) => {
      postruns.push(payload);
      throw new Error("async hook bug");
    });
    await worker.start();
    expect(await app.sendTask("tasks.add", [1, 2]).get({ timeoutMs: 5_000 })).toBe(3);
    expect(await app.sendTask("tasks.add", [3, 4]).get({ timeoutMs: 5_000 })).toBe(7);
    await until(() => postruns.length === 2);
    expect(postruns.map((p) => p.retval)).toEqual([3, 7]);
    await until(() => logger.records.filter((r) => r.level === "error").length === 4);
    const failures = logger.records.filter((r) => r.level === "error").map((r) => r.message);
    expect(failures.sort()).toEqual([
      'a "taskPostrun" signal handler failed',
      'a "taskPostrun" signal handler failed',
      'a "taskPrerun" signal handler failed',
      'a "taskPrerun" signal handler failed',
    ]);
  });

  it("sends workerReady when the worker consumes and workerShutdown when it stops", async () => {
    const { app, worker } = makeHarness();
    const seen: string[] = [];
    app.signals.on("workerReady", ({ hostname, queues }) => void seen.push(`ready ${hostname} ${queues}`));
    app.signals.on("workerShutdown", ({ hostname }) => void seen.push(`shutdown ${hostname}`));
    await worker.start();
    expect(seen).toEqual([`ready ${worker.hostname} celery`]);
    await worker.stop();
    expect(seen).toEqual([`ready ${worker.hostname} celery`, `shutdown ${worker.hostname}`]);
  });

  it("fails an invalid message: prerun, failure with the TaskArgumentsError, postrun", async () => {
    const { app, worker, broker } = makeHarness();
    const schema = {
      "~standard": {
        version: 1 as const,
        vendor: "test",
        validate: (value: unknown) =>
          typeof (value as unknown[])[0] === "number"
            ? { value: value as [number] }
            : { issues: [{ message: "expected a number", path: [0] }] },
      },
    };
    app.task("tasks.num", (n) => n, { args: schema });
    const seen = record(app);
    await worker.start();
    const message = taskMessage("tasks.num", ["x"]);
    await publishRaw(broker, "celery", message);
    await until(() => seen.length === 3);
    expect(seen.map((s) => s.name)).toEqual(["taskPrerun", "taskFailure", "taskPostrun"]);
    expect(seen[1]?.payload).toMatchObject({
      error: expect.objectContaining({ code: "TQ_INVALID_ARGUMENTS" }),
      exception: { exc_type: "ValidationError", exc_module: null },
    });
  });
});
