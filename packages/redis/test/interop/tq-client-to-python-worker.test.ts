/**
 * tq clients (`tq call`, `tq result`, `app.sendTask`) call tasks that run on a Python Celery 5.2 worker
 * through one Redis (DB 11); then tq and Python workers share a queue, and each restores the messages a
 * killed worker of the other kind left in kombu's `unacked` hash.
 */
import { type App, createApp, TqError } from "@tq/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisTransport } from "../../src/index.js";
import { stopAll } from "../support/interop-processes.js";
import { runPythonClient, startPythonWorker } from "../support/interop-python.js";
import { RedisProbe } from "../support/interop-redis.js";
import { flushDb, runTq, startTqWorker, testRedisUrl } from "../support/interop-tq.js";

const url = testRedisUrl(11);
const queue = `interop.tq2py.${process.pid}`;
const sharedQueue = `interop.shared.${process.pid}`;
const target = { broker: url, resultBackend: url, queue };
const connection = ["--broker", url, "--result-backend", url];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let app: App;
let probe: RedisProbe;

function lines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

beforeAll(async () => {
  await flushDb(url);
  probe = new RedisProbe(url);
  await startPythonWorker(target, { queues: [queue, sharedQueue], hostname: "py-interop@test" });
  app = createApp({
    name: "interop-client",
    broker: url,
    resultBackend: url,
    transports: [redisTransport],
    taskDefaultQueue: queue,
    env: false,
  });
}, 40_000);

afterAll(async () => {
  await app?.close();
  await stopAll();
  await flushDb(url);
  probe?.close();
}, 20_000);

describe("tq client → Python Celery worker (Redis)", () => {
  it("the Python fixtures work Python to Python (the baseline for every other test)", async () => {
    const [sum, failure] = await runPythonClient(target, [
      { task: "tasks.add", args: [2, 8] },
      { task: "tasks.fail" },
    ]);
    expect(sum).toMatchObject({ ok: true, result: 10 });
    expect(failure).toMatchObject({ ok: false, exc_class: "builtins.ValueError", message: "bad input" });
  });

  it("`tq call tasks.add --args '[2,8]' --wait` runs on the Python worker and prints 10", async () => {
    const run = await runTq([
      "call",
      "tasks.add",
      "--args",
      "[2,8]",
      "--wait",
      "--queue",
      queue,
      ...connection,
    ]);
    expect(run, run.stderr).toMatchObject({ status: 0, timedOut: false });
    const [id, value, ...extra] = lines(run.stdout);
    expect(id).toMatch(UUID);
    expect(value).toBe("10");
    expect(extra).toEqual([]);
    // tq result reads the document the Python worker stored.
    const result = await runTq(["result", id ?? "", ...connection]);
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ id, state: "SUCCESS", result: 10 });
  });

  it("a Python ValueError rejects app.sendTask's result with the Python type and message", async () => {
    const result = app.sendTask("tasks.fail", ["bad input"]);
    const error = await result.get({ timeout: 15 }).then(
      () => undefined,
      (rejection: unknown) => rejection,
    );
    expect(TqError.is(error, "TQ_TASK_FAILED"), String(error)).toBe(true);
    expect(error).toMatchObject({
      excType: "ValueError",
      excMessage: ["bad input"],
      excModule: "builtins",
      message: `[tq] task ${result.id} failed: ValueError: bad input`,
    });
    expect((error as { remoteTraceback: string }).remoteTraceback).toContain("ValueError: bad input");
    await expect(result.state()).resolves.toBe("FAILURE");
  });

  it("`tq call --wait` on a failing Python task exits 1 with one line; `tq result` shows the failure", async () => {
    const run = await runTq(["call", "tasks.fail", "--wait", "--queue", queue, ...connection]);
    expect(run.status).toBe(1);
    const [id] = lines(run.stdout);
    expect(lines(run.stderr)).toEqual([`tq: task ${id} failed: ValueError: bad input`]);
    const result = await runTq(["result", id ?? "", ...connection]);
    const report = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({
      id,
      state: "FAILURE",
      result: { exc_type: "ValueError", exc_message: ["bad input"], exc_module: "builtins" },
    });
    expect(report.traceback).toContain("ValueError: bad input");
  });

  it("unicode and nested args and kwargs reach Python and come back unchanged", async () => {
    const args = ["héllo ✓ 🎉 中文", { nested: [1, 2.5, null, true, { deep: ["x", [], {}] }] }, 2 ** 53 - 1];
    const kwargs = { ключ: "значение", list: [false, -0.5, "\u0000"], empty: {} };
    const value = await app.sendTask("tasks.echo", args, kwargs).get({ timeout: 15 });
    expect(value).toEqual({ args, kwargs });
  });

  it("countdown, priority and expires from tq are honoured by the Python worker", async () => {
    const sentAt = Date.now();
    const delayed = app.sendTask("tasks.request", [], {}, { countdown: 1, expires: 60, priority: 5 });
    const info = (await delayed.get({ timeout: 15 })) as Record<string, unknown>;
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(900);
    expect(Date.parse(String(info.eta)) - sentAt).toBeGreaterThanOrEqual(900);
    expect(Date.parse(String(info.expires)) - sentAt).toBeGreaterThan(50_000);
    expect(info.queue).toBe(queue);
    expect(info.priority).toBe(5);
  });

  it("a Python worker revokes an expired tq call and fails an unknown name with NotRegistered", async () => {
    const expired = app.sendTask("tasks.add", [1, 1], {}, { expires: new Date(Date.now() - 30_000) });
    const revoked = await expired.get({ timeout: 15 }).catch((error: unknown) => error);
    expect(TqError.is(revoked, "TQ_TASK_REVOKED"), String(revoked)).toBe(true);
    const unknown = app.sendTask("tasks.no_such_task", []);
    const notRegistered = await unknown.get({ timeout: 15 }).catch((error: unknown) => error);
    expect(notRegistered).toMatchObject({ excType: "NotRegistered", excModule: "celery.exceptions" });
  });
});

describe("tq and Python workers on one Redis", () => {
  it("share one queue: both make progress and every call runs exactly once", async () => {
    await startTqWorker({
      broker: url,
      resultBackend: url,
      queues: [sharedQueue],
      hostname: "tq-shared@test",
    });
    const journal = `interop.journal.${process.pid}`;
    const fromTq = Array.from({ length: 12 }, (_, n) =>
      app.sendTask("tasks.journal", [n, journal, 150], {}, { queue: sharedQueue }).get({ timeout: 30 }),
    );
    const fromPython = runPythonClient(
      target,
      Array.from({ length: 12 }, (_, i) => ({
        task: "tasks.journal",
        args: [100 + i, journal, 150],
        options: { queue: sharedQueue },
      })),
    );
    const results = [
      ...(await Promise.all(fromTq)),
      ...(await fromPython).map((outcome) => (outcome.ok ? outcome.result : outcome)),
    ] as { n: number; runtime: string }[];
    expect(results.map((result) => result.n).sort((a, b) => a - b)).toEqual([
      ...Array.from({ length: 12 }, (_, n) => n),
      ...Array.from({ length: 12 }, (_, i) => 100 + i),
    ]);
    expect(new Set(results.map((result) => result.runtime))).toEqual(new Set(["tq", "python"]));
    const entries = await probe.journal(journal);
    expect(entries).toHaveLength(24);
    expect(new Set(entries.map((entry) => entry.split(":")[1])).size).toBe(24);
  }, 50_000);

  it("a Python worker restores and runs the message a killed tq worker held", async () => {
    const queue = `interop.crash-tq.${process.pid}`;
    const journal = `interop.journal.crash-tq.${process.pid}`;
    const doomed = await startTqWorker({
      broker: url,
      resultBackend: url,
      queues: [queue],
      hostname: "tq-doomed@test",
    });
    const result = app.sendTask("tasks.hold", [journal, 60], {}, { queue });
    await probe.waitForJournal(journal, "tq:0", 10_000);
    await doomed.kill();
    // kombu's layout, so a Python worker can restore it: routing key = the queue.
    const entry = await probe.waitUntilStale(result.id, 2_500, 15_000);
    expect(entry.routingKey).toBe(queue);
    const rescuer = await startPythonWorker({ ...target, visibilityTimeoutSeconds: 2 }, { queues: [queue] });
    try {
      expect(await result.get({ timeout: 20 })).toEqual({ runtime: "python", redelivered: true });
      expect(await probe.journal(journal)).toEqual(["tq:0", "python:1"]);
      // Acked late, after the result is stored: the entry goes a moment after get() resolved.
      await probe.waitUntilAcked(result.id, 5_000);
    } finally {
      await rescuer.stop();
    }
  }, 45_000);

  it("a tq worker restores and runs the message a killed Python worker held", async () => {
    const queue = `interop.crash-py.${process.pid}`;
    const journal = `interop.journal.crash-py.${process.pid}`;
    const doomed = await startPythonWorker(target, { queues: [queue], hostname: "py-doomed@test" });
    const result = app.sendTask("tasks.hold", [journal, 60], {}, { queue });
    await probe.waitForJournal(journal, "python:0", 10_000);
    await doomed.kill();
    await probe.waitUntilStale(result.id, 2_500, 15_000);
    const rescuer = await startTqWorker({
      broker: url,
      resultBackend: url,
      queues: [queue],
      env: { TQ_BROKER_TRANSPORT_OPTIONS: JSON.stringify({ visibility_timeout: 2 }) },
    });
    try {
      expect(await result.get({ timeout: 20 })).toEqual({ runtime: "tq", redelivered: true });
      expect(await probe.journal(journal)).toEqual(["python:0", "tq:1"]);
      // Acked late, after the result is stored: the entry goes a moment after get() resolved.
      await probe.waitUntilAcked(result.id, 5_000);
    } finally {
      await rescuer.stop();
    }
  }, 45_000);
});
