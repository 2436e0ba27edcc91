/**
 * Revocation across runtimes on one Redis (DB 8): Python Celery's `app.control.revoke` reaches a tq
 * worker (skipped at arrival, terminated while running), and tq's `app.control.revoke` and
 * `tq control` reach a Python Celery 5.2 worker, through Celery's pidbox broadcast (`/8.celery.pidbox`).
 */
import { randomUUID } from "node:crypto";
import path from "node:path";
import { type App, createApp } from "@tq/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisTransport } from "../../src/index.js";
import { type ManagedProcess, runCommand, stopAll } from "../support/interop-processes.js";
import { PYTHON, PYTHON_DIR, runPythonClient, startPythonWorker } from "../support/interop-python.js";
import { RedisProbe } from "../support/interop-redis.js";
import { flushDb, runTq, startTqWorker, testRedisUrl } from "../support/interop-tq.js";

const url = testRedisUrl(8);
const tqQueue = `interop.revoke.tq.${process.pid}`;
const pyQueue = `interop.revoke.py.${process.pid}`;
const TQ_NODE = "tq-revoke@test";
const PY_NODE = "py-revoke@test";

let app: App;
let probe: RedisProbe;
let tqWorker: ManagedProcess;
let pyWorker: ManagedProcess;

/** Runs test/interop/python/control.py (Celery's app.control) against the test's Redis. */
async function pythonControl(args: readonly string[]): Promise<void> {
  const result = await runCommand(PYTHON, [path.join(PYTHON_DIR, "control.py"), ...args], {
    cwd: PYTHON_DIR,
    env: {
      PYTHONPATH: PYTHON_DIR,
      PYTHONUNBUFFERED: "1",
      TQ_INTEROP_BROKER_URL: url,
      TQ_INTEROP_QUEUE: pyQueue,
    },
    timeoutMs: 30_000,
  });
  expect(result.status, `${result.stderr}\n${result.stdout}`).toBe(0);
  expect(result.stdout).toContain("sent");
}

beforeAll(async () => {
  await flushDb(url);
  probe = new RedisProbe(url);
  [tqWorker, pyWorker] = await Promise.all([
    startTqWorker({ broker: url, resultBackend: url, queues: [tqQueue], hostname: TQ_NODE, concurrency: 2 }),
    startPythonWorker({ broker: url, resultBackend: url, queue: pyQueue }, { hostname: PY_NODE }),
  ]);
  app = createApp({
    name: "interop-revoke",
    broker: url,
    resultBackend: url,
    transports: [redisTransport],
    env: false,
  });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await stopAll();
  await flushDb(url);
  probe?.close();
}, 30_000);

describe("Python Celery's app.control → tq worker (Redis)", () => {
  it("app.control.revoke(id) makes a tq worker skip that task: REVOKED, read by Python", async () => {
    const id = randomUUID();
    await pythonControl(["revoke", id]);
    await tqWorker.waitForOutput(new RegExp(`"msg":"tasks flagged as revoked: ${id}"`), 15_000);
    const [revoked, other] = await runPythonClient({ broker: url, resultBackend: url, queue: tqQueue }, [
      { task: "tasks.add", args: [1, 2], options: { task_id: id } },
      { task: "tasks.add", args: [2, 3] },
    ]);
    expect(revoked).toMatchObject({
      id,
      ok: false,
      state: "REVOKED",
      exc_class: "celery.exceptions.TaskRevokedError",
      meta: { status: "REVOKED", result: { exc_type: "TaskRevokedError", exc_message: ["revoked"] } },
    });
    expect(other).toMatchObject({ ok: true, result: 5 });
    expect(tqWorker.output).toContain(`discarding revoked task tasks.add[${id}]`);
  });

  it("app.control.revoke(id, terminate=True) stops a task running on a tq worker", async () => {
    const id = randomUUID();
    const key = `interop.revoke.journal.${randomUUID()}`;
    const running = app.sendTask("tasks.journal", [1, key, 60_000], {}, { taskId: id, queue: tqQueue });
    await probe.waitForJournal(key, "tq:1", 15_000);
    await pythonControl(["revoke", id, "--terminate"]);
    await expect(running.get({ timeoutMs: 15_000 })).rejects.toMatchObject({
      code: "TQ_TASK_REVOKED",
      excMessage: ["terminated"],
    });
    // The tq worker serves the next task at once.
    const next = app.sendTask<number>("tasks.add", [4, 4], {}, { queue: tqQueue });
    expect(await next.get({ timeoutMs: 15_000 })).toBe(8);
  });

  it("app.control.rate_limit reaches the tq worker named by destination", async () => {
    await pythonControl(["rate_limit", "tasks.add", "100/m", "--destination", TQ_NODE]);
    await tqWorker.waitForOutput(
      /^(?=.*"msg":"rate limit changed")(?=.*"tq.task_name":"tasks.add").*$/m,
      15_000,
    );
  });
});

describe("tq's app.control and `tq control` → Python Celery worker (Redis)", () => {
  it("app.control.revoke(id) makes a Python worker skip its task", async () => {
    const id = randomUUID();
    await app.control.revoke(id);
    await pyWorker.waitForOutput(new RegExp(`Tasks flagged as revoked: ${id}`), 15_000);
    const result = app.sendTask("tasks.add", [1, 2], {}, { taskId: id, queue: pyQueue });
    await expect(result.get({ timeoutMs: 15_000 })).rejects.toMatchObject({
      code: "TQ_TASK_REVOKED",
      excMessage: ["revoked"],
    });
    await pyWorker.waitForOutput(new RegExp(`Discarding revoked task: tasks\\.add\\[${id}\\]`), 15_000);
    expect(
      await app.sendTask<number>("tasks.add", [1, 2], {}, { queue: pyQueue }).get({ timeoutMs: 15_000 }),
    ).toBe(3);
  });

  it("`tq control revoke` and `tq control rate_limit` reach a Python worker", async () => {
    const id = randomUUID();
    const revoke = await runTq(["control", "revoke", id, "--broker", url]);
    expect(revoke, revoke.stderr).toMatchObject({ status: 0, timedOut: false });
    expect(revoke.stdout.trim()).toBe(`revoke sent for ${id}`);
    await pyWorker.waitForOutput(new RegExp(`Tasks flagged as revoked: ${id}`), 15_000);
    const rate = await runTq([
      "control",
      "rate_limit",
      "tasks.multiply",
      "10/m",
      "-d",
      PY_NODE,
      "--broker",
      url,
    ]);
    expect(rate, rate.stderr).toMatchObject({ status: 0, timedOut: false });
    await pyWorker.waitForOutput(/New rate limit for tasks of type tasks\.multiply: 10\/m\./, 15_000);
  });
});
