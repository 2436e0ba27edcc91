import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type App, createApp, MemoryBackend, MemoryBroker, MemoryServer, TaskFailedError } from "@tq/core";
import { expect } from "vitest";
import type { Worker, WorkerOptions } from "../src/index.js";
import { registerPoolTasks } from "./fixtures/pool-app.mjs";
import { type RecordingLogger, recordingLogger } from "./helpers.js";

/** The app module the threads/processes pools' children load in these tests. */
export const POOL_APP = fileURLToPath(new URL("./fixtures/pool-app.mjs", import.meta.url));

type WorkerModule = typeof import("../src/index.js");

/**
 * The built @tq/worker: a pool's children run `dist/pool/child-main.js`, which exists only in the
 * build (turbo builds the package before its tests).
 */
export async function builtWorker(): Promise<WorkerModule> {
  const built = new URL("../dist/index.js", import.meta.url);
  expect(existsSync(built), "build @tq/worker first: pnpm --filter @tq/worker build").toBe(true);
  return (await import(built.href)) as WorkerModule;
}

const cleanups: (() => Promise<void>)[] = [];

/** Stops the workers and closes the brokers the tests made; pass it to `afterEach`. */
export async function cleanUpPools(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
}

/** A worker of the built package on a memory broker, its app registering the fixture's tasks. */
export interface PoolHarness {
  app: App;
  worker: Worker;
  logger: RecordingLogger;
}

/** Makes (does not start) a worker whose tasks run in the given pool; the parent's results stay in memory. */
export async function poolHarness(options: WorkerOptions = {}): Promise<PoolHarness> {
  const { createWorker } = await builtWorker();
  const server = new MemoryServer();
  const broker = new MemoryBroker({ server });
  const backend = new MemoryBackend({ server });
  const logger = recordingLogger();
  const app = registerPoolTasks(createApp({ broker, resultBackend: backend, env: false, logger }));
  const worker = createWorker(app, {
    concurrency: 1,
    appModule: POOL_APP,
    shutdownTimeoutMs: 5_000,
    ...options,
  });
  cleanups.push(async () => {
    await worker.stop({ timeoutMs: 0 });
    await broker.close();
    await backend.close();
  });
  return { app, worker, logger };
}

/** Sends a task and waits for its result (generous: children start slowly on a loaded machine). */
export function run<T = unknown>(
  app: App,
  name: string,
  args: unknown[] = [],
  options: Parameters<App["sendTask"]>[3] = {},
): Promise<T> {
  return app.sendTask<T>(name, args, {}, options).get({ timeout: 30_000 });
}

/** The stored failure of a task that must fail. */
export async function failure(promise: Promise<unknown>): Promise<TaskFailedError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(TaskFailedError);
  return error as TaskFailedError;
}

/** Polls until `check` returns a value other than undefined (or false). */
export async function until<T>(check: () => T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
