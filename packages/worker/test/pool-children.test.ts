import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TaskRevokedError } from "@tq/core";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { cleanUpPools, failure, poolHarness, run, until } from "./pool-helpers.js";

afterEach(cleanUpPools);
// Children start slowly on a loaded machine; nothing here is timed, only waited for.
vi.setConfig({ testTimeout: 60_000 });

const scratch = mkdtempSync(join(tmpdir(), "tq-pool-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let files = 0;
const runsFile = (): string => join(scratch, `runs-${++files}.txt`);
const runsIn = (file: string): number[] => {
  try {
    return readFileSync(file, "utf8").split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

interface WhoAmI {
  pid: number;
  threadId: number;
  id: string;
  name: string;
  args: unknown[];
  retries: number;
  queue: string;
  custom: string | null;
  aborted: boolean;
}

describe.each(["threads", "processes"] as const)("the %s pool", (pool) => {
  const childId = (who: WhoAmI): number => (pool === "threads" ? who.threadId : who.pid);

  it("runs a task in a child, whose currentTask() has the message's id, args and headers", async () => {
    const { app, worker } = await poolHarness({ pool });
    await worker.start();
    expect(await run(app, "pool.add", [2, 3])).toBe(5);
    const result = app.sendTask<WhoAmI>("pool.whoami", [1, "a"], {}, { headers: { x_custom: "yes" } });
    const who = await result.get({ timeout: 30_000 });
    expect(who).toMatchObject({
      id: result.id,
      name: "pool.whoami",
      args: [1, "a"],
      retries: 0,
      custom: "yes",
    });
    expect(who.aborted).toBe(false);
    if (pool === "threads") expect(who.threadId).toBeGreaterThan(0);
    else expect(who.pid).not.toBe(process.pid);
    expect(worker.stats().pool).toMatchObject({ implementation: pool, maxConcurrency: 1, concurrency: 1 });
    expect(worker.stats().pool.processes).toContain(childId(who));
  });

  it("runs Celery's canvas builtins (celery.starmap from a Python client) in a child", async () => {
    const { app, worker } = await poolHarness({ pool });
    await worker.start();
    const add = { task: "pool.add", args: [], kwargs: {}, options: {}, subtask_type: null, immutable: false };
    const result = app.sendTask<number[]>("celery.starmap", [], {
      task: add,
      it: [
        [1, 2],
        [3, 4],
      ],
    });
    expect(await result.get({ timeout: 30_000 })).toEqual([3, 7]);
  });

  it("stops a CPU-bound task at its hard time limit by killing its child, then serves the next task", async () => {
    const { app, worker } = await poolHarness({ pool });
    await worker.start();
    const before = await run<WhoAmI>(app, "pool.whoami");
    const error = await failure(run(app, "pool.spin", [], { timeLimit: 1 }));
    expect(error.excType).toBe("TimeLimitExceeded");
    expect(error.excModule).toBe("celery.exceptions");
    expect(error.excMessage).toEqual([1]);
    const after = await run<WhoAmI>(app, "pool.whoami");
    expect(childId(after)).not.toBe(childId(before));
    expect(worker.stats().pool.replaced).toBeGreaterThanOrEqual(1);
  });

  it("applies the worker's time limit when neither the call nor the task sets one", async () => {
    const { app, worker } = await poolHarness({ pool, timeLimit: 1 });
    await worker.start();
    expect((await failure(run(app, "pool.spin"))).excType).toBe("TimeLimitExceeded");
    expect(await run(app, "pool.add", [1, 1])).toBe(2);
  });

  it("aborts the signal at the soft limit: a task that catches it returns, one that does not fails", async () => {
    const { app, worker } = await poolHarness({ pool });
    await worker.start();
    expect(await run(app, "pool.softCaught", [20_000], { softTimeLimit: 0.3 })).toBe(
      "caught SoftTimeLimitExceeded",
    );
    const error = await failure(run(app, "pool.softUncaught", [20_000], { softTimeLimit: 0.3 }));
    expect(error.excType).toBe("SoftTimeLimitExceeded");
    expect(error.excModule).toBe("celery.exceptions");
    expect(error.excMessage).toEqual([]);
    expect(error.remoteTraceback).toContain("SoftTimeLimitExceeded");
  });

  it("treats Retry, Reject and errors thrown in a child as the async pool does", async () => {
    const { app, worker } = await poolHarness({ pool });
    const rejected: { requeue: boolean; reason: string }[] = [];
    worker.on("task-rejected", ({ requeue, reason }) => rejected.push({ requeue, reason }));
    await worker.start();
    expect(await run(app, "pool.retryOnce")).toBe("retried 1");
    const spent = await failure(run(app, "pool.retrySpent"));
    expect(spent.excType).toBe("RangeError");
    expect(spent.excMessage).toEqual(["out of range"]);
    const failed = await failure(run(app, "pool.fail"));
    expect(failed.excType).toBe("TypeError");
    expect(failed.excModule).toBe("builtins");
    expect(failed.remoteTraceback).toContain("Caused by: Error: the cause");
    app.sendTask("pool.reject", [false]);
    await until(() => rejected.length === 1);
    expect(rejected[0]).toEqual({ requeue: false, reason: expect.stringContaining("not for me") });
    // A value that cannot leave the child fails the task instead of losing it.
    expect((await failure(run(app, "pool.unclonable"))).excMessage[0]).toMatch(/could not be cloned/);
  });

  it("replaces a child after maxTasksPerChild tasks", async () => {
    const { app, worker } = await poolHarness({ pool, maxTasksPerChild: 1 });
    await worker.start();
    const ids = new Set<number>();
    for (let i = 0; i < 3; i++) ids.add(childId(await run<WhoAmI>(app, "pool.whoami")));
    expect(ids.size).toBe(3);
  });

  it("replaces a child past maxMemoryPerChild after its task", async () => {
    const { app, worker, logger } = await poolHarness({ pool, maxMemoryPerChild: 1 });
    await worker.start();
    const first = await run<WhoAmI>(app, "pool.whoami");
    const second = await run<WhoAmI>(app, "pool.whoami");
    expect(childId(second)).not.toBe(childId(first));
    expect(logger.records.some((record) => /exceeds its memory limit/.test(record.message))).toBe(true);
  });

  it("fails a task whose child exits with WorkerLostError, replaces the child and goes on", async () => {
    const { app, worker } = await poolHarness({ pool });
    await worker.start();
    const error = await failure(run(app, "pool.exit", [3]));
    expect(error.excType).toBe("WorkerLostError");
    expect(error.excModule).toBe("billiard.exceptions");
    expect(error.excMessage[0]).toMatch(/^Worker exited prematurely: exitcode 3 Job: \d+\.$/);
    expect(await run(app, "pool.add", [1, 2])).toBe(3);
    await until(() => worker.stats().pool.processes.length === 1);
  });

  it("kills the child of a task revoked with terminate, stores REVOKED and serves the next task", async () => {
    const { app, worker } = await poolHarness({ pool });
    await worker.start();
    const spinning = app.sendTask("pool.spin", []);
    await until(() => worker.stats().running === 1);
    await app.control.revoke(spinning.id, { terminate: true });
    const error = await spinning.get({ timeout: 30_000 }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(TaskRevokedError);
    expect((error as TaskRevokedError).excMessage).toEqual(["terminated"]);
    expect(await run(app, "pool.add", [2, 2])).toBe(4);
  });

  it("ends its children when the worker stops", async () => {
    const { worker } = await poolHarness({ pool, concurrency: 2 });
    await worker.start();
    const children = worker.stats().pool.processes;
    expect(children).toHaveLength(2);
    await worker.stop();
    expect(worker.stats().pool.processes).toEqual([]);
    if (pool === "processes") {
      for (const pid of children) expect(() => process.kill(pid, 0)).toThrow();
    }
  });

  it("fails start() when the children cannot load the app module", async () => {
    const broken = new URL("./fixtures/pool-broken-app.mjs", import.meta.url);
    const { worker } = await poolHarness({ pool, appModule: broken });
    await expect(worker.start()).rejects.toMatchObject({ code: "TQ_APP_INVALID" });
  });
});

describe("a processes child killed with SIGKILL mid-task", () => {
  it("is replaced, and with acks late and rejectOnWorkerLost its task runs exactly once more", async () => {
    const { app, worker } = await poolHarness({ pool: "processes" });
    await worker.start();
    const file = runsFile();
    const result = app.sendTask<string>("pool.markedRequeued", [file, 3_000]);
    const [first] = await until(() => (runsIn(file).length === 1 ? runsIn(file) : undefined));
    process.kill(first!, "SIGKILL");
    expect(await result.get({ timeout: 30_000 })).toBe("finished");
    const runs = runsIn(file);
    expect(runs).toHaveLength(2);
    expect(runs[1]).not.toBe(first);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(runsIn(file)).toHaveLength(2);
  });

  it("fails with WorkerLostError without rejectOnWorkerLost, and is not run again", async () => {
    const { app, worker } = await poolHarness({ pool: "processes" });
    await worker.start();
    const file = runsFile();
    const result = app.sendTask("pool.marked", [file, 20_000]);
    const [pid] = await until(() => (runsIn(file).length === 1 ? runsIn(file) : undefined));
    process.kill(pid!, "SIGKILL");
    const error = await failure(result.get({ timeout: 30_000 }));
    expect(error.excType).toBe("WorkerLostError");
    expect(error.excMessage[0]).toMatch(/^Worker exited prematurely: signal 9 \(SIGKILL\) Job: \d+\.$/);
    expect(await run(app, "pool.add", [5, 5])).toBe(10);
    expect(runsIn(file)).toHaveLength(1);
  });

  it("is requeued too when the app sets taskRejectOnWorkerLost", async () => {
    const { app, worker } = await poolHarness({ pool: "processes" });
    app.conf.taskRejectOnWorkerLost = true;
    await worker.start();
    const file = runsFile();
    const result = app.sendTask<string>("pool.marked", [file, 2_000]);
    const [pid] = await until(() => (runsIn(file).length === 1 ? runsIn(file) : undefined));
    process.kill(pid!, "SIGKILL");
    expect(await result.get({ timeout: 30_000 })).toBe("finished");
    expect(runsIn(file)).toHaveLength(2);
  });
});
