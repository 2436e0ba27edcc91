/**
 * The tq side of the AMQP interop and CLI tests: the `tq` command, a `tq worker`, and the Redis result
 * backend (DB 13) some of them use beside rpc://.
 */
import path from "node:path";
import {
  type CommandResult,
  ManagedProcess,
  PACKAGE_DIR,
  REPO_ROOT,
  runCommand,
  TQ_BIN,
} from "./interop-processes.js";

/** The tq app module the interop tests run on `tq worker` (tasks.add, tasks.fail, tasks.request…). */
export const TQ_INTEROP_APP = path.join(PACKAGE_DIR, "test/interop/tq-app.ts");

/** The Redis DB these tests keep results in. */
export const REDIS_RESULT_DB = 13;

/** `redis://…/13` on the test Redis (`TQ_TEST_REDIS_URL`, default 127.0.0.1:6379). */
export function testRedisUrl(db: number = REDIS_RESULT_DB): string {
  const url = new URL(process.env.TQ_TEST_REDIS_URL ?? "redis://127.0.0.1:6379");
  url.pathname = `/${db}`;
  return url.toString();
}

/**
 * Deletes the result documents (`celery-task-meta-<id>`) of the given tasks. Only these keys: test files
 * running at the same time share DB 13, so none of them flushes it.
 */
export async function deleteResults(url: string, taskIds: Iterable<string>): Promise<void> {
  const keys = [...new Set(taskIds)].map((id) => `celery-task-meta-${id}`);
  if (keys.length === 0) return;
  // redis-cli rather than a client library: @tq/amqp has no Redis client among its dependencies.
  const run = await runCommand("redis-cli", ["-u", url, "del", ...keys], {
    cwd: REPO_ROOT,
    timeoutMs: 10_000,
  });
  if (run.status !== 0) throw new Error(`redis-cli del failed (${run.status}): ${run.stderr}`);
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
  /** Extra environment, e.g. `TQ_BROKER_TRANSPORT_OPTIONS` or `TQ_TASK_DEFAULT_QUEUE`. */
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
