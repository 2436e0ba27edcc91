/**
 * Helpers of the result backend tests: URLs of the DBs they own (5–7), raw ioredis clients that read
 * the server directly, run-unique ids, and cleanup of only the keys a test file created.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { TaskMeta } from "@tq/core";
import { Redis } from "ioredis";
import { RedisBackend } from "../../src/backend.js";
import type { RedisBackendOptions } from "../../src/backend-options.js";

/** The Redis URL of one of our databases (`TQ_TEST_REDIS_URL` with its database replaced). */
export function redisUrl(db: number): string {
  const base = process.env.TQ_TEST_REDIS_URL ?? "redis://127.0.0.1:6379/0";
  const url = new URL(base);
  url.pathname = `/${db}`;
  return url.toString();
}

/** A plain client on one of our databases, for probing what the backend wrote. */
export function rawClient(db: number): Redis {
  return new Redis(redisUrl(db), { lazyConnect: true, maxRetriesPerRequest: 3 });
}

/** A prefix no other run or test file uses, for ids and key prefixes. */
export function runPrefix(label: string): string {
  return `tqb-${label}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;
}

/** Deletes the keys matching a pattern (a run prefix `*`), leaving everything else alone. */
export async function deleteKeys(client: Redis, pattern: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await client.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) await client.del(...keys);
  } while (cursor !== "0");
}

/** A command seen by MONITOR: its words, and `lua` when a script ran it. */
export interface MonitoredCommand {
  args: string[];
  source: string;
}

/** Collects the commands Redis runs that name `key`, through MONITOR on a connection of its own. */
export async function monitorKey(
  db: number,
  key: string,
): Promise<{ commands: MonitoredCommand[]; stop(): Promise<void> }> {
  const client = rawClient(db);
  const monitor = await client.monitor();
  const commands: MonitoredCommand[] = [];
  monitor.on("monitor", (_time: string, args: string[], source: string) => {
    if (args.includes(key)) commands.push({ args, source });
  });
  // monitor() resolves once Redis answered MONITOR: every command from then on is streamed.
  return {
    commands,
    async stop() {
      monitor.disconnect();
      client.disconnect();
    },
  };
}

const run = promisify(execFile);

/** Runs a Python snippet with the interpreter that has Celery 5.2.6; resolves with its stdout. */
export async function python(code: string, args: readonly string[] = []): Promise<string> {
  const { stdout } = await run("/usr/bin/python3", ["-c", code, ...args], {
    timeout: 20_000,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp" },
  });
  return stdout;
}

/** Settles to the state of a promise without waiting for it. */
export function track<T>(promise: Promise<T>): {
  state: "pending" | "resolved" | "rejected";
  value?: T;
  error?: unknown;
} {
  const tracked: { state: "pending" | "resolved" | "rejected"; value?: T; error?: unknown } = {
    state: "pending",
  };
  promise.then(
    (value) => {
      tracked.state = "resolved";
      tracked.value = value;
    },
    (error: unknown) => {
      tracked.state = "rejected";
      tracked.error = error;
    },
  );
  return tracked;
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A test file's fixture: a raw client on its DB, backends it closes, ids it deletes afterwards. */
export interface BackendFixture {
  readonly db: number;
  /** The run prefix every id and key prefix of the file carries. */
  readonly run: string;
  /** The raw client (connected in `setup`). */
  raw: Redis;
  /** A new backend on the file's DB, closed in `teardown`. */
  backend(options?: RedisBackendOptions): RedisBackend;
  /** A run-unique id. */
  id(label: string): string;
  setup(): Promise<void>;
  teardown(): Promise<void>;
}

/** Creates the fixture of a test file owning `db`. */
export function backendFixture(db: number, label: string): BackendFixture {
  const run = runPrefix(label);
  const backends: RedisBackend[] = [];
  let seq = 0;
  const fixture: BackendFixture = {
    db,
    run,
    raw: rawClient(db),
    backend(options = {}) {
      const created = new RedisBackend({ url: redisUrl(db), ...options });
      backends.push(created);
      return created;
    },
    id: (name) => `${run}-${name}-${++seq}`,
    async setup() {
      await fixture.raw.connect();
    },
    async teardown() {
      await Promise.allSettled(backends.splice(0).map((b) => b.close()));
      await deleteKeys(fixture.raw, `*${run}*`);
      fixture.raw.disconnect();
    },
  };
  return fixture;
}

/** A minimal state document; ready states get a fixed `date_done`. */
export function stateDoc(taskId: string, status: string, result: unknown = null): TaskMeta {
  const ready = ["SUCCESS", "FAILURE", "REVOKED"].includes(status);
  return {
    task_id: taskId,
    status,
    result,
    traceback: null,
    children: [],
    date_done: ready ? "2030-01-01T00:00:00.000000+00:00" : null,
  };
}

/** Celery's key names (standalone, no prefix). */
export const taskKey = (taskId: string): string => `celery-task-meta-${taskId}`;
export const groupKey = (groupId: string): string => `celery-taskset-meta-${groupId}`;
