/**
 * The setup every rpc:// backend test file shares: run-unique ids, backends closed after each test
 * (their auto-delete reply queues go with them), a raw probe connection, and the raw queues a file
 * declared deleted at the end.
 */
import type { TaskMeta } from "@tq/core";
import { TqError } from "@tq/core";
import type { ChannelModel } from "amqplib";
import { afterAll, afterEach, beforeAll } from "vitest";
import { RpcBackend } from "../../src/rpc-backend.js";
import type { RpcBackendOptions } from "../../src/rpc-backend-options.js";
import { AMQP_URL, rawConnection, runPrefix } from "./rpc-amqp.js";

/** A state document with Celery's fields. */
export function meta(
  taskId: string,
  status: string,
  result: unknown = null,
  extra: Partial<TaskMeta> = {},
): TaskMeta {
  return { task_id: taskId, status, result, traceback: null, children: [], date_done: null, ...extra };
}

/** The `code` of a TqError, else the value itself (so a failed expectation shows it). */
export function codeOf(error: unknown): unknown {
  return TqError.is(error) ? error.code : error;
}

/** What {@link useRpcFixture} gives a test file. */
export interface RpcFixture {
  /** The run-unique prefix of this file. */
  readonly run: string;
  /** A run-unique id with a label. */
  id(label: string): string;
  /** A backend on the test server, closed after the test. */
  backend(options?: RpcBackendOptions): RpcBackend;
  /** A client and a worker backend, both connected. */
  pair(options?: RpcBackendOptions): Promise<{ client: RpcBackend; worker: RpcBackend }>;
  /** The probe connection (open between beforeAll and afterAll). */
  raw(): ChannelModel;
  /** Declares a plain queue to read what a backend sent, deleted after the file. */
  rawQueue(label: string): Promise<string>;
}

/** Registers the hooks of a test file and returns its helpers. */
export function useRpcFixture(label: string): RpcFixture {
  const run = runPrefix(label);
  let seq = 0;
  let probe: ChannelModel | undefined;
  let backends: RpcBackend[] = [];
  const queues: string[] = [];

  beforeAll(async () => {
    probe = await rawConnection(`${run}-probe`);
  });
  afterEach(async () => {
    await Promise.allSettled(backends.map((backend) => backend.close()));
    backends = [];
  });
  afterAll(async () => {
    if (!probe) return;
    const channel = await probe.createChannel();
    for (const queue of queues) await channel.deleteQueue(queue).catch(() => {});
    await probe.close();
  });

  const fixture: RpcFixture = {
    run,
    id: (name) => `${run}-${name}-${++seq}`,
    backend(options = {}) {
      const created = new RpcBackend({ url: AMQP_URL, connectionName: run, ...options });
      backends.push(created);
      return created;
    },
    async pair(options = {}) {
      const [client, worker] = [fixture.backend(options), fixture.backend()];
      await Promise.all([client.connect(), worker.connect()]);
      return { client, worker };
    },
    raw() {
      if (!probe) throw new Error("the probe connection is open only while the file's tests run");
      return probe;
    },
    async rawQueue(name) {
      const queue = `${run}-${name}`;
      queues.push(queue);
      const channel = await fixture.raw().createChannel();
      await channel.assertQueue(queue, { durable: false, autoDelete: false });
      await channel.close();
      return queue;
    },
  };
  return fixture;
}
