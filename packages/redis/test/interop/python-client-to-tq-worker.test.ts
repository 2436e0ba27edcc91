/**
 * A Python Celery 5.2 client (client.py, `app.send_task`) calls tasks that run on `tq worker` through
 * one Redis (DB 10): results, failures, arguments and apply_async options must all come back to Python
 * exactly as a Celery worker would have stored them.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stopAll } from "../support/interop-processes.js";
import { type PythonOutcome, runPythonClient } from "../support/interop-python.js";
import { removeQueue, startTqWorker, testRedisUrl } from "../support/interop-tq.js";

const url = testRedisUrl(10);
const queue = `interop.py2tq.${process.pid}`;
const target = { broker: url, resultBackend: url, queue };

function succeeded(outcome: PythonOutcome | undefined): Extract<PythonOutcome, { ok: true }> {
  if (!outcome?.ok) throw new Error(`expected a success, got ${JSON.stringify(outcome)}`);
  return outcome;
}

function failed(outcome: PythonOutcome | undefined): Extract<PythonOutcome, { ok: false }> {
  if (!outcome || outcome.ok) throw new Error(`expected a failure, got ${JSON.stringify(outcome)}`);
  return outcome;
}

describe("Python Celery client → tq worker (Redis)", () => {
  // DB 10 is shared with the other interop files (events, canvas): this file touches only its own
  // queue (named after the process) and the result keys of its own task ids, and never flushes.
  beforeAll(async () => {
    await startTqWorker({ broker: url, resultBackend: url, queues: [queue], hostname: "tq-interop@test" });
  }, 40_000);

  afterAll(async () => {
    await stopAll();
    await removeQueue(url, queue);
    await removeQueue(url, `${queue}.dead`);
  }, 20_000);

  it("send_task('tasks.add', (2, 8)) runs on tq and Python reads 10, by position or keyword", async () => {
    const [byPosition, byKeyword] = await runPythonClient(target, [
      { task: "tasks.add", args: [2, 8] },
      { task: "tasks.add", kwargs: { x: 2, y: 8 } },
    ]);
    const outcome = succeeded(byPosition);
    expect(outcome).toMatchObject({ state: "SUCCESS", result: 10 });
    // Python parsed date_done (AsyncResult.date_done) and found the extended fields Celery writes.
    expect(outcome.date_done).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    expect(outcome.meta).toMatchObject({
      status: "SUCCESS",
      result: 10,
      traceback: null,
      children: [],
      task_id: outcome.id,
      name: "tasks.add",
      args: [2, 8],
      kwargs: {},
      queue,
      worker: "tq-interop@test",
    });
    expect(succeeded(byKeyword).result).toBe(10);
  });

  it("a TypeError thrown by a tq task is raised in Python as builtins.TypeError", async () => {
    const [builtin, custom] = await runPythonClient(target, [
      { task: "tasks.fail", args: ["bad input"] },
      { task: "tasks.fail_custom", args: ["over quota"] },
    ]);
    const outcome = failed(builtin);
    expect(outcome).toMatchObject({
      state: "FAILURE",
      exc_class: "builtins.TypeError",
      is_builtin_exception: true,
      exc_args: ["bad input"],
      message: "bad input",
    });
    expect(outcome.meta?.result).toEqual({
      exc_type: "TypeError",
      exc_message: ["bad input"],
      exc_module: "builtins",
    });
    expect(outcome.traceback).toContain("TypeError: bad input");
    // No Python class of that name: Celery makes one up in celery.exceptions rather than failing.
    expect(failed(custom)).toMatchObject({
      exc_class: "celery.exceptions.QuotaExceededError",
      exc_type: "QuotaExceededError",
      message: "over quota",
    });
  });

  it("unicode and nested values round-trip through a tq task unchanged", async () => {
    const args = [
      'héllo ✓ 🎉 中文 \u0000 "quoted" \\ back',
      { nested: [1, 2.5, -0.001, null, true, false, { deep: ["x", [], {}] }] },
      9_007_199_254_740_991,
      "",
      [],
    ];
    const [outcome] = await runPythonClient(target, [{ task: "tasks.echo", args }]);
    expect(succeeded(outcome).result).toEqual({ args, kwargs: {} });
  });

  it("accepts apply_async countdown, priority and expires from Python and runs the task", async () => {
    // The countdown call goes last: Celery 5.2's client resolves results that arrived while it blocked on
    // an earlier get() only one drain interval (1 s) per get() later, which would only slow the test down.
    const outcomes = await runPythonClient(target, [
      { task: "tasks.add", args: [1, 2], options: { priority: 9 } },
      { task: "tasks.add", args: [3, 4], options: { priority: 5 } },
      { task: "tasks.add", args: [5, 6], options: { priority: 0 } },
      { task: "tasks.request", options: { expires: 60 } },
      { task: "tasks.request", options: { countdown: 1 } },
    ]);
    expect(outcomes.slice(0, 3).map((outcome) => succeeded(outcome).result)).toEqual([3, 7, 11]);
    const expiring = succeeded(outcomes[3]).result as { expires: string | null };
    expect(Date.parse(expiring.expires ?? "") - Date.now()).toBeGreaterThan(30_000);
    const delayed = succeeded(outcomes[4]);
    const request = delayed.result as { eta: string | null; ranAt: string };
    expect(request.eta).not.toBeNull();
    // The ETA was honoured: it ran no earlier than its eta, about a second after Python sent it.
    expect(Date.parse(request.ranAt)).toBeGreaterThanOrEqual(Date.parse(request.eta ?? "") - 50);
    expect(delayed.elapsed).toBeGreaterThanOrEqual(0.9);
  });

  it("an expired call is revoked, not run, and an unknown name fails with NotRegistered", async () => {
    const [expired, unknown] = await runPythonClient(target, [
      { task: "tasks.add", args: [1, 1], options: { expires: -30 } },
      { task: "tasks.no_such_task", args: [] },
    ]);
    expect(failed(expired)).toMatchObject({
      state: "REVOKED",
      exc_class: "celery.exceptions.TaskRevokedError",
      exc_args: ["expired"],
    });
    expect(failed(unknown)).toMatchObject({
      state: "FAILURE",
      exc_class: "celery.exceptions.NotRegistered",
    });
  });

  it("NotRegistered carries the bare task name, as a Celery worker stores it", async () => {
    const [unknown] = await runPythonClient(target, [{ task: "tasks.no_such_task", args: [] }]);
    // Celery 5.2's consumer stores NotRegistered(name): exc_message ["tasks.no_such_task"], and
    // str(exc) in Python is then "'tasks.no_such_task'" (NotRegistered is a KeyError).
    expect(failed(unknown).meta?.result).toEqual({
      exc_type: "NotRegistered",
      exc_message: ["tasks.no_such_task"],
      exc_module: "celery.exceptions",
    });
    expect(failed(unknown).message).toBe("'tasks.no_such_task'");
  });

  it("an autoretried task succeeds on its third run; a spent retry raises the original error", async () => {
    // Python waits through the RETRY states and reads the outcome, as from a Celery worker.
    const [success, spent] = await runPythonClient(target, [
      { task: "tasks.retry_twice" },
      { task: "tasks.retry_spent", args: ["still failing"] },
    ]);
    expect(succeeded(success)).toMatchObject({ state: "SUCCESS", result: 2 });
    expect(succeeded(success).meta).toMatchObject({ status: "SUCCESS", retries: 2 });
    // Spent: the task fails with the error it retried on, which Python raises as its own TypeError.
    expect(failed(spent)).toMatchObject({
      state: "FAILURE",
      exc_class: "builtins.TypeError",
      exc_args: ["still failing"],
    });
    expect(failed(spent).meta).toMatchObject({ retries: 1 });
  });

  it("leaves nothing queued; an unknown task's message is kept in <queue>.dead", async () => {
    const client = new Redis(url);
    try {
      // The queue and its priority lists (`<queue>\x06\x16<n>`); an emptied list no longer exists.
      const keys = await client.keys(`${queue}*`);
      const types = await Promise.all(keys.map((key) => client.type(key)));
      expect(keys.filter((_, i) => types[i] === "list")).toEqual([`${queue}.dead`]);
      const dead = (await client.lrange(`${queue}.dead`, 0, -1)).map(
        (raw) => JSON.parse(raw) as { headers: Record<string, unknown> },
      );
      // One from each of the two NotRegistered tests above (tests in a file run in order).
      expect(dead.map((envelope) => envelope.headers.task)).toEqual([
        "tasks.no_such_task",
        "tasks.no_such_task",
      ]);
    } finally {
      client.disconnect();
    }
  });
});
