import { afterEach, describe, expect, it } from "vitest";
import { type App, createApp } from "../src/app.js";
import type { Delivery } from "../src/broker.js";
import { TqError } from "../src/errors.js";
import { jsonSerializer } from "../src/json-serializer.js";
import { MemoryBackend, MemoryBroker, MemoryServer } from "../src/memory/index.js";
import { parseTaskMessage } from "../src/message/parse.js";
import type { TaskMessage } from "../src/message/types.js";
import { runWithTaskRequest, type TaskRequest } from "../src/task-request.js";

const apps: App[] = [];
function makeApp(options: Parameters<typeof createApp>[0] = {}) {
  const server = new MemoryServer();
  const broker = new MemoryBroker({ server });
  const backend = new MemoryBackend();
  const app = createApp({ broker, resultBackend: backend, env: false, ...options });
  apps.push(app);
  return { app, broker, backend, server };
}

async function nextMessage(
  broker: MemoryBroker,
  queue: string,
): Promise<{ message: TaskMessage; delivery: Delivery }> {
  return new Promise((resolve) => {
    void broker.consume(
      [queue],
      async (delivery) => {
        resolve({ message: parseTaskMessage(delivery.message, [jsonSerializer]), delivery });
        await delivery.ack();
      },
      { prefetch: 1 },
    );
  });
}

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

describe("app", () => {
  it("sends a Celery v2 message to the default queue", async () => {
    const { app, broker } = makeApp();
    const add = app.task("tasks.add", (x: number, y: number) => x + y);
    const result = add.delay(2, 3);
    await result.sent;
    const { message } = await nextMessage(broker, "celery");
    expect(message.task).toBe("tasks.add");
    expect(message.id).toBe(result.id);
    expect(message.rootId).toBe(result.id);
    expect(message.parentId).toBeNull();
    expect(message.args).toEqual([2, 3]);
    expect(message.kwargs).toEqual({});
    expect(message.lang).toBe("js");
    expect(message.argsrepr).toBe("(2, 3)");
    expect(message.properties.correlation_id).toBe(result.id);
  });

  it("applies per-call options: id, queue, countdown, expires, priority, headers, time limits", async () => {
    const { app, broker } = makeApp();
    const add = app.task("tasks.add", (x: number, y: number) => x + y);
    const before = Date.now();
    const result = add.applyAsync(
      [1, 2],
      {},
      {
        taskId: "11111111-1111-1111-1111-111111111111",
        queue: "math",
        countdown: 0.05,
        expires: 600,
        priority: 7,
        headers: { x_custom: "hi" },
        timeLimit: 60,
        softTimeLimit: 50,
      },
    );
    expect(result.id).toBe("11111111-1111-1111-1111-111111111111");
    await result.sent;
    const { message } = await nextMessage(broker, "math");
    expect(message.eta!.getTime()).toBeGreaterThanOrEqual(before + 49);
    expect(message.expires!.getTime()).toBeGreaterThanOrEqual(before + 599_000);
    expect(message.properties.priority).toBe(7);
    expect(message.properties.expiration).toMatch(/^\d+$/);
    expect(message.headers.x_custom).toBe("hi");
    expect(message.timeLimit).toEqual([60, 50]);
    // the memory broker delays natively, so the message was not delivered before its eta
    expect(Date.now()).toBeGreaterThanOrEqual(before + 49);
  });

  it("routes by task_routes globs, then task options, then call options", async () => {
    const { app, broker } = makeApp({ taskRoutes: { "images.*": { queue: "images" } } });
    const resize = app.task("images.resize", (name: string) => name);
    const slow = app.task("reports.build", () => 1, { queue: "slow" });
    await resize.delay("a.png").sent;
    await slow.delay().sent;
    await slow.applyAsync([], {}, { queue: "urgent" }).sent;
    expect(await broker.queueLength("images")).toBe(1);
    expect(await broker.queueLength("slow")).toBe(1);
    expect(await broker.queueLength("urgent")).toBe(1);
  });

  it("sends tasks by name with kwargs, for workers in other languages", async () => {
    const { app, broker } = makeApp();
    await app.sendTask("python.task", [1], { y: 2 }).sent;
    const { message } = await nextMessage(broker, "celery");
    expect(message.task).toBe("python.task");
    expect(message.kwargs).toEqual({ y: 2 });
    expect(message.kwargsrepr).toBe("{'y': 2}");
  });

  it("sets parent and root ids when a task sends a task", async () => {
    const { app, broker } = makeApp();
    const parent = { id: "parent-id", rootId: "root-id" } as TaskRequest;
    const result = runWithTaskRequest(parent, () => app.sendTask("child"));
    await result.sent;
    const { message } = await nextMessage(broker, "celery");
    expect(message.parentId).toBe("parent-id");
    expect(message.rootId).toBe("root-id");
  });

  it("refuses two tasks with one name", () => {
    const { app } = makeApp();
    app.task("dup", () => 1);
    expect(() => app.task("dup", () => 2)).toThrow(/already registered/);
  });

  it("reads results through AsyncResult", async () => {
    const { app, backend } = makeApp();
    const result = app.asyncResult<number>("abc");
    expect(await result.state()).toBe("PENDING");
    expect(await result.ready()).toBe(false);
    const waiting = result.get({ timeout: 5 });
    await backend.store({
      task_id: "abc",
      status: "SUCCESS",
      result: 5,
      traceback: null,
      children: [],
      date_done: null,
    });
    expect(await waiting).toBe(5);
    expect(await result.successful()).toBe(true);
    await result.forget();
    expect(await result.state()).toBe("PENDING");
  });

  it("raises a stored failure with its Celery exception info", async () => {
    const { app, backend } = makeApp();
    await backend.store({
      task_id: "bad",
      status: "FAILURE",
      result: { exc_type: "ValueError", exc_message: ["bad input"], exc_module: "builtins" },
      traceback: "Traceback ...",
      children: [],
      date_done: new Date().toISOString(),
    });
    const error = await app
      .asyncResult("bad")
      .get()
      .catch((e: unknown) => e);
    expect(TqError.is(error, "TQ_TASK_FAILED")).toBe(true);
    expect((error as Error).message).toContain("ValueError: bad input");
    expect(await app.asyncResult("bad").failed()).toBe(true);
    expect(await app.asyncResult("bad").get({ propagate: false })).toMatchObject({ exc_type: "ValueError" });
  });

  it("times out a wait with TQ_TIMEOUT and aborts with TQ_ABORTED", async () => {
    const { app } = makeApp();
    const timedOut = await app
      .asyncResult("never")
      .get({ timeoutMs: 30 })
      .catch((e: unknown) => e);
    expect(TqError.is(timedOut, "TQ_TIMEOUT")).toBe(true);
    const controller = new AbortController();
    const waiting = app.asyncResult("never").get({ signal: controller.signal });
    controller.abort();
    expect(TqError.is(await waiting.catch((e: unknown) => e), "TQ_ABORTED")).toBe(true);
  });

  it("delivers a failed publish through sent and get, without an unhandled rejection", async () => {
    const { app, broker } = makeApp();
    await broker.close();
    const result = app.sendTask("x");
    await expect(result.sent).rejects.toThrow();
    await expect(result.get()).rejects.toThrow();
  });

  it("says clearly when there is no result backend", async () => {
    const app = createApp({
      broker: new MemoryBroker({ server: new MemoryServer() }),
      resultBackend: null,
      env: false,
    });
    apps.push(app);
    expect(app.hasResultBackend).toBe(false);
    const error = await app
      .asyncResult("x")
      .get()
      .catch((e: unknown) => e);
    expect(TqError.is(error, "TQ_CONFIG")).toBe(true);
  });

  it("reads the broker URL from the environment and lets configure() override it", () => {
    const app = createApp({ env: { TQ_BROKER_URL: "memory://envhost", TQ_TASK_DEFAULT_QUEUE: "q" } });
    expect(app.conf.brokerUrl).toBe("memory://envhost");
    expect(app.conf.taskDefaultQueue).toBe("q");
    app.configure({ brokerUrl: "memory://other" });
    expect(app.conf.brokerUrl).toBe("memory://other");
  });

  it("fails a send to an unregistered scheme with the install command", async () => {
    const app = createApp({ broker: "redis://127.0.0.1:6379/0", env: false });
    const result = app.sendTask("x");
    const error = await result.sent.catch((e: unknown) => e);
    expect(TqError.is(error, "TQ_UNKNOWN_SCHEME")).toBe(true);
    expect((error as Error).message).toContain("npm install @tq/redis");
  });
});

describe("reply queues of backends that send results to the caller (rpc://)", () => {
  class ReplyingBackend extends MemoryBackend {
    readonly replyTo = "reply-queue-1";
    connects = 0;
    override async connect(): Promise<void> {
      this.connects++;
      await super.connect();
    }
  }

  const firstMessage = async (broker: MemoryBroker, queue: string) =>
    (await nextMessage(broker, queue)).message;

  it("puts the backend's reply queue in reply_to and connects the backend before publishing", async () => {
    const backend = new ReplyingBackend();
    const { app, broker } = makeApp({ resultBackend: backend });
    {
      const received = firstMessage(broker, "celery");
      await app.sendTask("t.x", [1]).sent;
      expect((await received).properties.reply_to).toBe("reply-queue-1");
      expect(backend.connects).toBeGreaterThan(0);
    }
  });

  it("keeps an explicit replyTo, and sends none with a result store", async () => {
    const { app, broker } = makeApp();
    {
      const first = firstMessage(broker, "a");
      await app.sendTask("t.x", [], {}, { queue: "a", replyTo: "caller-7" }).sent;
      expect((await first).properties.reply_to).toBe("caller-7");
      const second = firstMessage(broker, "b");
      await app.sendTask("t.x", [], {}, { queue: "b" }).sent;
      expect((await second).properties.reply_to).toBe("");
    }
  });
});
