/**
 * The Python side of the interop tests: a Celery 5 worker and client from test/interop/python, run
 * with Debian's interpreter (/usr/bin/python3, which has python3-celery; the `python3` on PATH may not).
 */
import path from "node:path";
import { ManagedProcess, PACKAGE_DIR, runCommand } from "./interop-processes.js";

/** The interpreter that has Celery 5.2 and python3-redis. */
export const PYTHON = "/usr/bin/python3";
/** Where celery_app.py and client.py live. */
export const PYTHON_DIR = path.join(PACKAGE_DIR, "test/interop/python");

/** Where the Python side connects: its broker, result backend and default queue. */
export interface PythonTarget {
  broker: string;
  resultBackend: string;
  queue: string;
  /** The broker's `visibility_timeout` in seconds. @default kombu's 3600 */
  visibilityTimeoutSeconds?: number;
}

function pythonEnv(target: PythonTarget): Record<string, string> {
  return {
    PYTHONPATH: PYTHON_DIR,
    PYTHONUNBUFFERED: "1",
    PYTHONIOENCODING: "utf-8",
    TQ_INTEROP_BROKER_URL: target.broker,
    TQ_INTEROP_RESULT_BACKEND: target.resultBackend,
    TQ_INTEROP_QUEUE: target.queue,
    ...(target.visibilityTimeoutSeconds === undefined
      ? {}
      : { TQ_INTEROP_VISIBILITY_TIMEOUT: String(target.visibilityTimeoutSeconds) }),
  };
}

/**
 * Starts `celery -A celery_app worker` (solo pool, no gossip/mingle/heartbeat, which only slow start-up)
 * consuming `queues` (the target's queue by default), and resolves once it printed "ready.".
 */
export async function startPythonWorker(
  target: PythonTarget,
  options: { queues?: readonly string[]; hostname?: string } = {},
): Promise<ManagedProcess> {
  const queues = options.queues ?? [target.queue];
  const args = ["-m", "celery", "-A", "celery_app", "worker", "--pool=solo", "-l", "info"];
  args.push("--without-gossip", "--without-mingle", "--without-heartbeat", "-Q", queues.join(","));
  args.push("-n", options.hostname ?? `py-${process.pid}@%h`);
  const worker = new ManagedProcess("celery worker", PYTHON, args, {
    cwd: PYTHON_DIR,
    env: pythonEnv(target),
  });
  // "celery@host ready." is logged at INFO once the consumer runs.
  await worker.waitForOutput(/ ready\.\s*$/m, 30_000);
  return worker;
}

/** One call for client.py: a task sent by name with `app.send_task`. */
export interface PythonCall {
  task: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  /** `send_task` options: queue, countdown, eta (ISO string), expires, priority, task_id, headers… */
  options?: Record<string, unknown>;
  /** Seconds `AsyncResult.get` waits. @default 20 */
  timeout?: number;
}

/** What the Python client read back for one call (see client.py). */
export type PythonOutcome =
  | {
      id: string;
      ok: true;
      state: string;
      result: unknown;
      elapsed: number;
      date_done: string | null;
      meta: Record<string, unknown> | null;
    }
  | {
      id: string;
      ok: false;
      state: string;
      /** `module.QualName` of the exception Python raised. */
      exc_class: string;
      exc_type: string;
      exc_module: string;
      is_builtin_exception: boolean;
      exc_args: unknown[];
      message: string;
      traceback: string | null;
      elapsed: number;
      meta: Record<string, unknown> | null;
    };

/**
 * Runs client.py: sends every call (to the target's queue unless a call names another), then waits for
 * each; one outcome per call, in order. Rejects with the client's output when it does not exit 0.
 */
export async function runPythonClient(
  target: PythonTarget,
  calls: readonly PythonCall[],
  timeoutMs = 40_000,
): Promise<PythonOutcome[]> {
  const result = await runCommand(PYTHON, [path.join(PYTHON_DIR, "client.py"), JSON.stringify(calls)], {
    cwd: PYTHON_DIR,
    env: pythonEnv(target),
    timeoutMs,
  });
  if (result.status !== 0) {
    throw new Error(
      `client.py exited with ${result.status}${result.timedOut ? " (timed out)" : ""}:\n${result.stderr}\n${result.stdout}`,
    );
  }
  return result.stdout
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as PythonOutcome);
}
