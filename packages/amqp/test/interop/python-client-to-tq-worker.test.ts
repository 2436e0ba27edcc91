/**
 * A Python Celery 5.2 client (client.py, `app.send_task`) calls tasks that run on `tq worker` through
 * RabbitMQ: results come back to Python over rpc:// (the tq worker replies to the queue the Python
 * client named in `reply_to`) and over a Redis backend (DB 13); failures are raised in Python with the
 * right class; priority, countdown and expires from Python are honoured.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AmqpProbe, testAmqpUrl, uniquePrefix } from "../support/interop-amqp.js";
import { type ManagedProcess, stopAll } from "../support/interop-processes.js";
import {
  type PythonOutcome,
  type PythonTarget,
  peekWithPython,
  runPythonClient,
} from "../support/interop-python.js";
import { deleteResults, startTqWorker, testRedisUrl } from "../support/interop-tq.js";

const broker = testAmqpUrl();
const redisUrl = testRedisUrl();
const prefix = uniquePrefix();
const rpc: PythonTarget = { broker, resultBackend: "rpc://", queue: `${prefix}py2tq-rpc` };
const redis: PythonTarget = { broker, resultBackend: redisUrl, queue: `${prefix}py2tq-redis` };
const prioritized: PythonTarget = { ...rpc, queue: `${prefix}py2tq-priority`, maxPriority: 10 };
// Stands in for a client's reply queue, so that py-amqp can read the reply the tq worker sends.
const replies: PythonTarget = { ...rpc, queue: `${prefix}py2tq-replies` };
const queues = [rpc.queue, redis.queue, prioritized.queue, replies.queue];
// Where the tq worker keeps a message it cannot run (an unknown task name).
const deadQueues = queues.map((queue) => `${queue}.dead`);
const redisTaskIds: string[] = [];
let probe: AmqpProbe;

function succeeded(outcome: PythonOutcome | undefined): Extract<PythonOutcome, { ok: true }> {
  if (!outcome?.ok) throw new Error(`expected a success, got ${JSON.stringify(outcome)}`);
  return outcome;
}

function failed(outcome: PythonOutcome | undefined): Extract<PythonOutcome, { ok: false }> {
  if (outcome?.ok !== false) throw new Error(`expected a failure, got ${JSON.stringify(outcome)}`);
  return outcome;
}

beforeAll(async () => {
  probe = new AmqpProbe(broker);
  await Promise.all([
    startTqWorker({ broker, resultBackend: "rpc://", queues: [rpc.queue], hostname: "tq-rpc@test" }),
    startTqWorker({ broker, resultBackend: redisUrl, queues: [redis.queue], hostname: "tq-redis@test" }),
  ]);
}, 40_000);

afterAll(async () => {
  await stopAll();
  await deleteResults(redisUrl, redisTaskIds);
  // Celery and tq both declare a direct exchange named after each queue, bound to it.
  await probe?.remove({ queues: [...queues, ...deadQueues], exchanges: queues });
  await probe?.close();
}, 30_000);

describe("Python Celery client → tq worker over RabbitMQ, rpc:// results", () => {
  it("send_task('tasks.add', (2, 8)) runs on tq and the reply reaches the client's reply_to queue", async () => {
    const run = await runPythonClient(rpc, [
      { task: "tasks.add", args: [2, 8] },
      { task: "tasks.add", kwargs: { x: 2, y: 8 } },
      { task: "tasks.request" },
    ]);
    // The rpc:// backend consumes one queue named by the app's oid, the value send_task puts in reply_to.
    expect(run.replyQueue).toBe(run.replyTo);
    const [byPosition, byKeyword, request] = run.outcomes;
    expect(succeeded(byPosition)).toMatchObject({ state: "SUCCESS", result: 10 });
    expect(succeeded(byKeyword).result).toBe(10);
    const seen = succeeded(request);
    expect(seen.result).toMatchObject({ queue: rpc.queue, replyTo: run.replyTo, correlationId: seen.id });
    // The reply queue is Python's (auto-delete): gone with the client, not kept alive by the tq worker.
    await expect(probe.queue(run.replyTo)).resolves.toBeUndefined();
  });

  it("the reply is what Celery's rpc:// backend sends: default exchange, reply_to key, correlation_id", async () => {
    await probe.declareQueue(replies.queue);
    const { outcomes } = await runPythonClient(rpc, [
      { task: "tasks.add", args: [2, 8], options: { reply_to: replies.queue }, wait: false },
    ]);
    const id = outcomes[0]?.id;
    const [reply, ...more] = await peekWithPython(replies, 1);
    expect(more).toEqual([]);
    expect(reply?.delivery_info).toMatchObject({ exchange: "", routing_key: replies.queue });
    expect(reply?.properties).toMatchObject({
      content_type: "application/json",
      content_encoding: "utf-8",
      correlation_id: id,
      // Transient, as Celery's rpc:// results are unless result_persistent is set.
      delivery_mode: 1,
    });
    expect(JSON.parse(reply?.body ?? "null")).toMatchObject({
      task_id: id,
      status: "SUCCESS",
      result: 10,
      traceback: null,
      children: [],
    });
  });

  it("a TypeError thrown by a tq task is raised in Python as builtins.TypeError, with the traceback", async () => {
    const { outcomes } = await runPythonClient(rpc, [
      { task: "tasks.fail", args: ["bad input"] },
      { task: "tasks.fail_custom", args: ["over quota"] },
    ]);
    expect(failed(outcomes[0])).toMatchObject({
      state: "FAILURE",
      exc_class: "builtins.TypeError",
      exc_args: ["bad input"],
      message: "bad input",
    });
    expect(failed(outcomes[0]).traceback).toContain("TypeError: bad input");
    // No Python class of that name: Celery makes one up in celery.exceptions rather than failing.
    expect(failed(outcomes[1])).toMatchObject({
      exc_class: "celery.exceptions.QuotaExceededError",
      message: "over quota",
    });
  });

  it("unicode and nested values round-trip through a tq task unchanged", async () => {
    const args = [
      'héllo ✓ 🎉 中文 \u0000 "q" \\',
      { nested: [1, 2.5, null, true, { deep: [[], {}] }] },
      2 ** 53 - 1,
    ];
    const { outcomes } = await runPythonClient(rpc, [{ task: "tasks.echo", args }]);
    expect(succeeded(outcomes[0]).result).toEqual({ args, kwargs: {} });
  });

  it("a countdown is held by the tq worker until its eta; expires reaches it as the AMQP expiration", async () => {
    const pending = runPythonClient(rpc, [{ task: "tasks.request", options: { countdown: 2, expires: 60 } }]);
    // Taken off the queue at once and held, not left ready in the queue for two seconds.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const state = await probe.queue(rpc.queue);
    expect(state?.messages).toBe(0);
    expect(state?.consumers).toBeGreaterThan(0);
    const outcome = succeeded((await pending).outcomes[0]);
    const request = outcome.result as Record<string, string>;
    expect(Date.parse(request.ranAt ?? "")).toBeGreaterThanOrEqual(Date.parse(request.eta ?? "") - 50);
    expect(outcome.elapsed).toBeGreaterThanOrEqual(1.9);
    expect(Date.parse(request.expires ?? "") - Date.parse(request.eta ?? "")).toBeGreaterThan(50_000);
    expect(request.expiration).toBe("60000");
  });

  it("a call that expires before its eta is revoked, not run; an unknown name fails with NotRegistered", async () => {
    const { outcomes } = await runPythonClient(rpc, [
      { task: "tasks.add", args: [1, 1], options: { countdown: 2, expires: 1 } },
      { task: "tasks.no_such_task" },
    ]);
    expect(failed(outcomes[0])).toMatchObject({
      state: "REVOKED",
      exc_class: "celery.exceptions.TaskRevokedError",
    });
    expect(failed(outcomes[1])).toMatchObject({
      state: "FAILURE",
      exc_class: "celery.exceptions.NotRegistered",
    });
    // Neither is left in the queue; the unknown one is kept aside in <queue>.dead, not dropped.
    expect(await probe.queue(rpc.queue)).toMatchObject({ messages: 0 });
    expect(await probe.queue(`${rpc.queue}.dead`)).toMatchObject({ messages: 1 });
  });

  it("priority from Python orders delivery to the tq worker on an x-max-priority queue", async () => {
    // Queued before any worker consumes, so RabbitMQ hands them over highest priority first.
    const pending = runPythonClient(prioritized, [
      { task: "tasks.sequence", args: ["low", 20], options: { priority: 1 } },
      { task: "tasks.sequence", args: ["mid", 20], options: { priority: 5 } },
      { task: "tasks.sequence", args: ["high", 20], options: { priority: 9 } },
    ]);
    await probe.waitForQueue(prioritized.queue, (state) => state.messages === 3, 15_000);
    let worker: ManagedProcess | undefined;
    try {
      worker = await startTqWorker({
        broker,
        resultBackend: "rpc://",
        queues: [prioritized.queue],
        concurrency: 1,
        // The queue's arguments must equal Python's (task_queue_max_priority = 10).
        env: { TQ_BROKER_TRANSPORT_OPTIONS: JSON.stringify({ maxPriority: 10 }) },
      });
      const results = (await pending).outcomes.map((outcome) => succeeded(outcome).result);
      expect(results).toEqual([
        { label: "low", position: 3 },
        { label: "mid", position: 2 },
        { label: "high", position: 1 },
      ]);
    } finally {
      await worker?.stop();
    }
  }, 40_000);
});

describe("Python Celery client → tq worker over RabbitMQ, Redis results", () => {
  it("send_task('tasks.add', (2, 8)) runs on tq and Python reads 10 from the stored document", async () => {
    const { outcomes } = await runPythonClient(redis, [{ task: "tasks.add", args: [2, 8] }]);
    const outcome = succeeded(outcomes[0]);
    redisTaskIds.push(outcome.id);
    expect(outcome).toMatchObject({ state: "SUCCESS", result: 10 });
    expect(outcome.date_done).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    expect(outcome.meta).toMatchObject({
      status: "SUCCESS",
      result: 10,
      task_id: outcome.id,
      name: "tasks.add",
      args: [2, 8],
      queue: redis.queue,
      worker: "tq-redis@test",
    });
  });

  it("a TypeError thrown by a tq task is stored as builtins.TypeError and raised so in Python", async () => {
    const { outcomes } = await runPythonClient(redis, [{ task: "tasks.fail", args: ["bad input"] }]);
    const outcome = failed(outcomes[0]);
    redisTaskIds.push(outcome.id);
    expect(outcome).toMatchObject({
      state: "FAILURE",
      exc_class: "builtins.TypeError",
      message: "bad input",
    });
    expect(outcome.meta?.result).toEqual({
      exc_type: "TypeError",
      exc_message: ["bad input"],
      exc_module: "builtins",
    });
  });
});
