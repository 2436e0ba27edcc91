/**
 * tq clients (`tq call`, `tq result`, `app.sendTask`) call tasks that run on a Python Celery 5.2 worker
 * through RabbitMQ, with results over rpc:// (the Python worker replies to tq's reply queue) and over
 * Redis (DB 13); py-amqp reads the message tq publishes (headers as an AMQP table with nulls and arrays)
 * as it reads Celery's own.
 */
import { type App, createApp, TqError } from "@tq/core";
import { redisTransport } from "@tq/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { amqpTransport } from "../../src/index.js";
import { AmqpProbe, testAmqpUrl, uniquePrefix } from "../support/interop-amqp.js";
import { stopAll } from "../support/interop-processes.js";
import {
  type PythonTarget,
  peekWithPython,
  runPythonClient,
  startPythonWorker,
} from "../support/interop-python.js";
import { deleteResults, runTq, testRedisUrl } from "../support/interop-tq.js";

const broker = testAmqpUrl();
const redisUrl = testRedisUrl();
const prefix = uniquePrefix();
const rpc: PythonTarget = { broker, resultBackend: "rpc://", queue: `${prefix}tq2py-rpc` };
const redis: PythonTarget = { broker, resultBackend: redisUrl, queue: `${prefix}tq2py-redis` };
// Nobody consumes it: py-amqp takes tq's message off it to show how Python decodes it.
const peek: PythonTarget = { broker, resultBackend: "rpc://", queue: `${prefix}tq2py-peek` };
const queues = [rpc.queue, redis.queue, peek.queue];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const redisTaskIds: string[] = [];

let rpcApp: App;
let redisApp: App;
let probe: AmqpProbe;

function lines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

function tqCall(target: PythonTarget, args: readonly string[]) {
  return runTq([
    "call",
    ...args,
    "--queue",
    target.queue,
    "--broker",
    broker,
    "--result-backend",
    target.resultBackend,
  ]);
}

beforeAll(async () => {
  probe = new AmqpProbe(broker);
  await Promise.all([
    startPythonWorker(rpc, { hostname: "py-rpc@test" }),
    startPythonWorker(redis, { hostname: "py-redis@test" }),
  ]);
  const common = { broker, transports: [amqpTransport, redisTransport], env: false as const };
  rpcApp = createApp({
    ...common,
    name: "interop-rpc",
    resultBackend: "rpc://",
    taskDefaultQueue: rpc.queue,
  });
  redisApp = createApp({
    ...common,
    name: "interop-redis",
    resultBackend: redisUrl,
    taskDefaultQueue: redis.queue,
  });
}, 40_000);

afterAll(async () => {
  await Promise.allSettled([rpcApp?.close(), redisApp?.close()]);
  await stopAll();
  await deleteResults(redisUrl, redisTaskIds);
  await probe?.remove({ queues, exchanges: queues });
  await probe?.close();
}, 30_000);

describe("tq client → Python Celery worker over RabbitMQ", () => {
  it("the Python fixtures work Python to Python, rpc:// and Redis (the baseline for the rest)", async () => {
    for (const target of [rpc, redis]) {
      const { outcomes } = await runPythonClient(target, [
        { task: "tasks.add", args: [2, 8] },
        { task: "tasks.fail" },
      ]);
      expect(outcomes[0]).toMatchObject({ ok: true, result: 10 });
      expect(outcomes[1]).toMatchObject({
        ok: false,
        exc_class: "builtins.ValueError",
        message: "bad input",
      });
      redisTaskIds.push(...outcomes.map((outcome) => outcome.id));
    }
  });

  it("`tq call tasks.add --args '[2,8]' --wait` with a Redis backend prints the id, then 10", async () => {
    const run = await tqCall(redis, ["tasks.add", "--args", "[2,8]", "--wait"]);
    expect(run, run.stderr).toMatchObject({ status: 0, timedOut: false });
    const [id, value, ...extra] = lines(run.stdout);
    redisTaskIds.push(id ?? "");
    expect(id).toMatch(UUID);
    expect([value, ...extra]).toEqual(["10"]);
    // tq result reads the document the Python worker stored.
    const result = await runTq(["result", id ?? "", "--broker", broker, "--result-backend", redisUrl]);
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ id, state: "SUCCESS", result: 10 });
  });

  it("`tq call tasks.add --args '[2,8]' --wait` with rpc:// gets 10 from the Python worker's reply", async () => {
    const run = await tqCall(rpc, ["tasks.add", "--args", "[2,8]", "--wait"]);
    expect(run, run.stderr).toMatchObject({ status: 0, timedOut: false });
    const [id, value, ...extra] = lines(run.stdout);
    expect(id).toMatch(UUID);
    expect([value, ...extra]).toEqual(["10"]);
  });

  it("`tq call --wait` on a failing Python task exits 1 with one line naming the Python exception", async () => {
    const run = await tqCall(rpc, ["tasks.fail", "--wait"]);
    expect(run.status, run.stderr).toBe(1);
    const [id] = lines(run.stdout);
    expect(lines(run.stderr)).toEqual([`tq: task ${id} failed: ValueError: bad input`]);
  });

  it("a Python ValueError rejects app.sendTask's result with the Python type, over rpc:// and Redis", async () => {
    for (const app of [rpcApp, redisApp]) {
      const result = app.sendTask("tasks.fail", ["bad input"]);
      redisTaskIds.push(result.id);
      const error = await result.get({ timeout: 15 }).then(
        () => undefined,
        (rejection: unknown) => rejection,
      );
      expect(TqError.is(error, "TQ_TASK_FAILED"), String(error)).toBe(true);
      expect(error).toMatchObject({
        excType: "ValueError",
        excMessage: ["bad input"],
        excModule: "builtins",
      });
      expect((error as { remoteTraceback: string }).remoteTraceback).toContain("ValueError: bad input");
    }
  });

  it("unicode and nested args and kwargs reach Python and come back unchanged", async () => {
    const args = ["héllo ✓ 🎉 中文", { nested: [1, 2.5, null, true, { deep: ["x", [], {}] }] }, 2 ** 53 - 1];
    const kwargs = { ключ: "значение", list: [false, -0.5, "\u0000"], empty: {} };
    expect(await rpcApp.sendTask("tasks.echo", args, kwargs).get({ timeout: 15 })).toEqual({ args, kwargs });
  });

  it("countdown, priority and expires from tq are honoured, and Python reads every header", async () => {
    const replyTo = (await rpcApp.getBackend()).replyTo;
    expect(replyTo).toEqual(expect.any(String));
    const sentAt = Date.now();
    const delayed = rpcApp.sendTask("tasks.request", [], {}, { countdown: 1, expires: 60, priority: 5 });
    const info = (await delayed.get({ timeout: 15 })) as Record<string, unknown>;
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(900);
    expect(Date.parse(String(info.eta)) - sentAt).toBeGreaterThanOrEqual(900);
    expect(Date.parse(String(info.expires)) - sentAt).toBeGreaterThan(50_000);
    expect(info).toMatchObject({
      id: delayed.id,
      task: "tasks.request",
      shadow: null,
      retries: 0,
      root_id: delayed.id,
      parent_id: null,
      group: null,
      ignore_result: false,
      reply_to: replyTo,
      correlation_id: delayed.id,
      priority: 5,
    });
    // Straight to the queue, or through Celery's native delayed delivery (the celery_delayed_* levels),
    // which hands it over from celery_delayed_delivery with the delay's 28 binary digits before the key.
    const route = `${String(info.exchange)} ${String(info.queue)}`;
    expect([` ${rpc.queue}`, `celery_delayed_delivery ${"0.".repeat(27)}1.${rpc.queue}`]).toContain(route);
  });

  it("py-amqp decodes tq's message: an AMQP table with nulls and arrays, and Celery's properties", async () => {
    const replyTo = (await rpcApp.getBackend()).replyTo;
    const sent = rpcApp.sendTask(
      "tasks.request",
      [1, "two"],
      { three: null },
      { queue: peek.queue, priority: 3, expires: 60 },
    );
    await sent.sent;
    const [message, ...more] = await peekWithPython(peek, 1);
    expect(more).toEqual([]);
    expect(message?.properties).toMatchObject({
      content_type: "application/json",
      content_encoding: "utf-8",
      correlation_id: sent.id,
      reply_to: replyTo,
      delivery_mode: 2,
      priority: 3,
    });
    // Celery sends str(int(expires * 1000)); tq counts from its absolute expires, a few ms less.
    const expiration = Number(message?.properties.expiration);
    expect(expiration).toBeGreaterThan(55_000);
    expect(expiration).toBeLessThanOrEqual(60_000);
    expect(message?.properties.application_headers).toMatchObject({
      task: "tasks.request",
      id: sent.id,
      root_id: sent.id,
      parent_id: null,
      shadow: null,
      group: null,
      retries: 0,
      timelimit: [null, null],
      eta: null,
      ignore_result: false,
    });
    // The types a Celery worker gets: None for JSON null, a list for an array, not strings or bytes.
    expect(message?.header_types).toMatchObject({
      shadow: "NoneType",
      parent_id: "NoneType",
      timelimit: "list",
      retries: "int",
      ignore_result: "bool",
      expires: "str",
    });
    expect(message?.delivery_info).toMatchObject({ exchange: "", routing_key: peek.queue });
    expect(JSON.parse(message?.body ?? "null")).toEqual([
      [1, "two"],
      { three: null },
      { callbacks: null, errbacks: null, chain: null, chord: null },
    ]);
  });

  it("a Python worker revokes an expired tq call and fails an unknown name with NotRegistered", async () => {
    const expired = rpcApp.sendTask("tasks.add", [1, 1], {}, { countdown: 2, expires: 1 });
    const revoked = await expired.get({ timeout: 15 }).catch((error: unknown) => error);
    expect(TqError.is(revoked, "TQ_TASK_REVOKED"), String(revoked)).toBe(true);
    const unknown = rpcApp.sendTask("tasks.no_such_task", []);
    const notRegistered = await unknown.get({ timeout: 15 }).catch((error: unknown) => error);
    expect(notRegistered).toMatchObject({ excType: "NotRegistered", excModule: "celery.exceptions" });
  });
});
