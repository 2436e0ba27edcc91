/**
 * rpc:// end to end with the app and the worker, as two processes would run them: a client app and a
 * worker app, each with its own RpcBackend, over the memory broker and over the AMQP broker. The
 * client's backend gives the app its reply queue; the app puts it in `reply_to`; the worker sends
 * every state there.
 */
import { randomUUID } from "node:crypto";
import {
  type App,
  type Broker,
  createApp,
  MemoryBroker,
  MemoryServer,
  Retry,
  type StoreResultOptions,
  type TaskMeta,
  TqError,
} from "@tq/core";
import { createWorker, type Worker } from "@tq/worker";
import type { ChannelModel } from "amqplib";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AmqpBroker } from "../src/broker.js";
import { RpcBackend } from "../src/rpc-backend.js";
import { amqpTransport } from "../src/transport.js";
import { AMQP_URL, rawConnection, runPrefix, settle } from "./support/rpc-amqp.js";

const run = runPrefix("app");
const codeOf = (error: unknown): unknown => (TqError.is(error) ? error.code : error);

/** A worker-side backend that records what the worker asked it to send, then sends it. */
class RecordingRpcBackend extends RpcBackend {
  readonly stored: Array<{ meta: TaskMeta; options: StoreResultOptions }> = [];
  override async store(meta: TaskMeta, options: StoreResultOptions = {}): Promise<void> {
    this.stored.push({ meta, options });
    return super.store(meta, options);
  }
}

interface BrokerKind {
  name: string;
  /** A broker for one side (client or worker) of a test; both sides share the server. */
  create(server: MemoryServer): Broker;
}

const brokerKinds: BrokerKind[] = [
  { name: "the memory broker", create: (server) => new MemoryBroker({ server }) },
  {
    name: "the AMQP broker",
    create: () => new AmqpBroker({ url: AMQP_URL, connectionName: `${run}-broker` }),
  },
];

let raw: ChannelModel;
const queues: string[] = [];
let cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  raw = await rawConnection(`${run}-probe`);
});

afterEach(async () => {
  // Worker first (it stops consuming), then apps, backends and brokers.
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  cleanups = [];
});

afterAll(async () => {
  const channel = await raw.createChannel();
  for (const queue of queues) {
    await channel.deleteQueue(queue).catch(() => {});
    await channel.deleteQueue(`${queue}.dead`).catch(() => {});
  }
  await raw.close();
});

/** Defines the test tasks on an app (client and worker define the same ones, as a shared module would). */
function defineTasks(app: App, attempts: Map<string, number>) {
  const add = app.task("rpc.add", (x: number, y: number) => x + y);
  const fail = app.task("rpc.fail", (message: string) => {
    throw new Error(message);
  });
  const flaky = app.task(
    "rpc.flaky",
    (key: string) => {
      const attempt = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, attempt);
      if (attempt < 3) throw new Retry({ countdown: 0 });
      return `done after ${attempt}`;
    },
    { maxRetries: 5 },
  );
  return { add, fail, flaky };
}

async function setup(kind: BrokerKind, options: { trackStarted?: boolean } = {}) {
  const server = new MemoryServer();
  const queue = `${run}-${randomUUID().slice(0, 8)}`;
  queues.push(queue);
  const attempts = new Map<string, number>();
  const settings = {
    env: false as const,
    taskDefaultQueue: queue,
    taskTrackStarted: options.trackStarted ?? false,
  };

  const clientBroker = kind.create(server);
  const clientBackend = new RpcBackend({ url: AMQP_URL, connectionName: `${run}-client` });
  const client = createApp({ ...settings, broker: clientBroker, resultBackend: clientBackend });
  const workerBroker = kind.create(server);
  const workerBackend = new RecordingRpcBackend({ url: AMQP_URL, connectionName: `${run}-worker` });
  const workerApp = createApp({ ...settings, broker: workerBroker, resultBackend: workerBackend });
  defineTasks(workerApp, attempts);
  const worker: Worker = createWorker(workerApp, { queues: [queue], concurrency: 2, deadLetterQueue: null });
  cleanups.push(
    () => clientBackend.close(),
    () => clientBroker.close(),
    () => client.close(),
    () => workerBackend.close(),
    () => workerBroker.close(),
    () => worker.stop({ timeoutMs: 2_000 }),
  );
  await worker.start();
  return { server, clientBackend, workerBackend, tasks: defineTasks(client, new Map()), attempts, queue };
}

describe.each(brokerKinds)("rpc:// with $name", (kind) => {
  it("add.delay(2, 8).get() gives 10", async () => {
    const { tasks } = await setup(kind);
    expect(await tasks.add.delay(2, 8).get({ timeout: 10 })).toBe(10);
  });

  it("the client's reply queue travels in reply_to and the worker sends every state there", async () => {
    const { tasks, clientBackend, workerBackend } = await setup(kind, { trackStarted: true });
    const result = tasks.add.delay(1, 2);
    expect(await result.get({ timeout: 10 })).toBe(3);
    const sent = workerBackend.stored.filter((entry) => entry.meta.task_id === result.id);
    expect(sent.map((entry) => entry.meta.status)).toEqual(["STARTED", "SUCCESS"]);
    for (const entry of sent) {
      expect(entry.options).toMatchObject({ replyTo: clientBackend.replyTo, correlationId: result.id });
    }
    // The worker's own reply queue is not where results go.
    expect(workerBackend.replyTo).not.toBe(clientBackend.replyTo);
  });

  it("a failure reaches the caller as TQ_TASK_FAILED with the stored exception", async () => {
    const { tasks } = await setup(kind);
    const result = tasks.fail.delay("boom");
    const outcome = await settle(result.get({ timeout: 10 }));
    expect(codeOf(outcome.error)).toBe("TQ_TASK_FAILED");
    expect((outcome.error as Error).message).toMatch(/boom/);
    expect(await result.state()).toBe("FAILURE");
    const meta = await result.meta();
    expect(meta?.result).toMatchObject({ exc_type: "Error", exc_message: ["boom"] });
  });

  it("a retried task still reaches the caller: the retry keeps reply_to", async () => {
    const { tasks, clientBackend, workerBackend, attempts } = await setup(kind);
    const key = randomUUID();
    const result = tasks.flaky.delay(key);
    expect(await result.get({ timeout: 15 })).toBe("done after 3");
    expect(attempts.get(key)).toBe(3);
    const sent = workerBackend.stored.filter((entry) => entry.meta.task_id === result.id);
    expect(sent.map((entry) => entry.meta.status)).toEqual(["RETRY", "RETRY", "SUCCESS"]);
    expect(sent.every((entry) => entry.options.replyTo === clientBackend.replyTo)).toBe(true);
  });

  it("two callers each get their own results, never the other's", async () => {
    const { server, tasks, clientBackend, queue } = await setup(kind);
    // A second client app on the same worker, with its own backend and reply queue.
    const otherBackend = new RpcBackend({ url: AMQP_URL, connectionName: `${run}-client2` });
    const otherBroker = kind.create(server);
    const other = createApp({
      env: false,
      taskDefaultQueue: queue,
      broker: otherBroker,
      resultBackend: otherBackend,
    });
    cleanups.push(
      () => otherBackend.close(),
      () => otherBroker.close(),
    );
    const otherAdd = defineTasks(other, new Map()).add;
    const mine = tasks.add.delay(1, 1);
    const theirs = otherAdd.delay(20, 20);
    expect(await mine.get({ timeout: 10 })).toBe(2);
    expect(await theirs.get({ timeout: 10 })).toBe(40);
    expect(await clientBackend.get(theirs.id)).toBeNull();
    expect(await otherBackend.get(mine.id)).toBeNull();
  });
});

describe("rpc:// from URLs, as the CLI and the quickstart use it", () => {
  it("runs with broker amqp://… and result backend rpc:// (results over the broker's server)", async () => {
    const queue = `${run}-${randomUUID().slice(0, 8)}`;
    queues.push(queue);
    const settings = {
      env: false as const,
      broker: AMQP_URL,
      resultBackend: "rpc://",
      transports: [amqpTransport],
      taskDefaultQueue: queue,
    };
    const client = createApp(settings);
    const workerApp = createApp(settings);
    defineTasks(workerApp, new Map());
    const worker = createWorker(workerApp, { queues: [queue], concurrency: 2, deadLetterQueue: null });
    // The apps created their broker and backend from the URLs, so they close them.
    cleanups.push(
      () => client.close(),
      () => worker.stop({ timeoutMs: 2_000 }),
    );
    await worker.start();
    const backend = await client.getBackend();
    expect(backend).toBeInstanceOf(RpcBackend);
    expect(await defineTasks(client, new Map()).add.delay(2, 8).get({ timeout: 10 })).toBe(10);
  });
});
