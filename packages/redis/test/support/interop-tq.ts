/**
 * The tq side of the interop and CLI tests: Redis URLs per test DB, the `tq` command, a `tq worker`.
 */
import path from "node:path";
import { Redis } from "ioredis";
import {
  type CommandResult,
  ManagedProcess,
  PACKAGE_DIR,
  REPO_ROOT,
  runCommand,
  TQ_BIN,
} from "./interop-processes.js";

/** The tq app module the interop tests run on `tq worker` (tasks.add, tasks.fail, tasks.echo…). */
export const TQ_INTEROP_APP = path.join(PACKAGE_DIR, "test/interop/tq-app.ts");

/** `redis://…/<db>` on the test Redis (`TQ_TEST_REDIS_URL`, default 127.0.0.1:6379). */
export function testRedisUrl(db: number): string {
  const url = new URL(process.env.TQ_TEST_REDIS_URL ?? "redis://127.0.0.1:6379");
  url.pathname = `/${db}`;
  return url.toString();
}

/** Empties one test DB: only the DB this test file owns. */
export async function flushDb(url: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    await client.flushdb();
  } finally {
    client.disconnect();
  }
}

/**
 * Deletes the lists of one queue (priority buckets included) in a DB this file does not own, where a
 * test's message went astray; resolves to how many messages they held.
 */
export async function removeQueue(url: string, queue: string): Promise<number> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    const keys = [queue, ...[3, 6, 9].map((step) => `${queue}\x06\x16${step}`)];
    const lengths = await Promise.all(keys.map((key) => client.llen(key)));
    await client.del(...keys);
    return lengths.reduce((sum, length) => sum + length, 0);
  } finally {
    client.disconnect();
  }
}

/** Runs `tq <args>` to completion (from the repo root unless `cwd` is given). */
export function runTq(
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return runCommand(process.execPath, [TQ_BIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: options.env ?? {},
    timeoutMs: options.timeoutMs ?? 20_000,
  });
}

/** Options of {@link startTqWorker}. */
export interface TqWorkerOptions {
  /** App module for `-A`. @default TQ_INTEROP_APP */
  app?: string;
  broker: string;
  resultBackend: string;
  /** Queues for `-Q`; the app's default queue when unset. */
  queues?: readonly string[];
  /** `-c`. @default 4 */
  concurrency?: number;
  /** `-n`. */
  hostname?: string;
  /** Working directory. @default REPO_ROOT */
  cwd?: string;
  /** Extra environment, e.g. `TQ_BROKER_TRANSPORT_OPTIONS`. */
  env?: Record<string, string>;
}

/** Starts `tq worker` and resolves once it logged "worker ready". */
export async function startTqWorker(options: TqWorkerOptions): Promise<ManagedProcess> {
  const args = [TQ_BIN, "worker", "-A", options.app ?? TQ_INTEROP_APP, "-l", "info"];
  args.push("--broker", options.broker, "--result-backend", options.resultBackend);
  args.push("-c", String(options.concurrency ?? 4));
  if (options.queues) args.push("-Q", options.queues.join(","));
  if (options.hostname) args.push("-n", options.hostname);
  const worker = new ManagedProcess("tq worker", process.execPath, args, {
    cwd: options.cwd ?? REPO_ROOT,
    env: options.env ?? {},
  });
  // pino writes JSON lines when stdout is not a terminal: {"level":30,…,"msg":"worker ready"}.
  await worker.waitForOutput(/"msg":"worker ready"/, 20_000);
  return worker;
}
