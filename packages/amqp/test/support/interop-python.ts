/**
 * The Python side of the AMQP interop tests: a Celery 5 worker, client and raw py-amqp reader from
 * test/interop/python, run with Debian's interpreter (/usr/bin/python3, which has python3-celery and
 * python3-amqp; the `python3` on PATH may not).
 */
import path from "node:path";
import { ManagedProcess, PACKAGE_DIR, runCommand } from "./interop-processes.js";

/** The interpreter that has Celery 5.2, py-amqp and python3-redis. */
export const PYTHON = "/usr/bin/python3";
/** Where celery_app.py, client.py and peek.py live. */
export const PYTHON_DIR = path.join(PACKAGE_DIR, "test/interop/python");

/** Where the Python side connects: its broker, result backend and default queue. */
export interface PythonTarget {
  broker: string;
  /** `rpc://` or a Redis URL. */
  resultBackend: string;
  queue: string;
  /** Celery's `task_queue_max_priority` (the queue's `x-max-priority`). @default none */
  maxPriority?: number;
}

function pythonEnv(target: PythonTarget): Record<string, string> {
  return {
    PYTHONPATH: PYTHON_DIR,
    PYTHONUNBUFFERED: "1",
    PYTHONIOENCODING: "utf-8",
    // No .pyc files next to the fixtures: the interpreter writes them as whoever runs the tests.
    PYTHONDONTWRITEBYTECODE: "1",
    TQ_INTEROP_BROKER_URL: target.broker,
    TQ_INTEROP_RESULT_BACKEND: target.resultBackend,
    TQ_INTEROP_QUEUE: target.queue,
    ...(target.maxPriority === undefined ? {} : { TQ_INTEROP_MAX_PRIORITY: String(target.maxPriority) }),
  };
}

/**
 * Starts `celery -A celery_app worker` (solo pool, no gossip/mingle/heartbeat, which only slow start-up)
 * consuming the target's queue, and resolves once it printed "ready.".
 */
export async function startPythonWorker(
  target: PythonTarget,
  options: { hostname?: string } = {},
): Promise<ManagedProcess> {
  const args = ["-m", "celery", "-A", "celery_app", "worker", "--pool=solo", "-l", "info"];
  args.push("--without-gossip", "--without-mingle", "--without-heartbeat", "-Q", target.queue);
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
  /** False: only send it (its outcome is `{ id, ok: null, state: "SENT" }`). @default true */
  wait?: boolean;
}

/** What the Python client read back for one call (see client.py). */
export type PythonOutcome =
  | { id: string; ok: null; state: "SENT" }
  | {
      id: string;
      ok: true;
      state: string;
      result: unknown;
      elapsed: number;
      date_done: string | null;
      /** The stored document of a Redis backend; null with rpc://. */
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

/** A client.py run: where its rpc:// replies go, and one outcome per call, in order. */
export interface PythonClientRun {
  /** What `send_task` puts in every message's `reply_to` (`app.thread_oid`). */
  replyTo: string;
  /** The queue the rpc:// backend consumes, or null for another backend. */
  replyQueue: string | null;
  outcomes: PythonOutcome[];
}

/**
 * Runs client.py: sends every call (to the target's queue unless a call names another), then waits for
 * each. Rejects with the client's output when it does not exit 0.
 */
export async function runPythonClient(
  target: PythonTarget,
  calls: readonly PythonCall[],
  timeoutMs = 40_000,
): Promise<PythonClientRun> {
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
  const [first, ...rest] = result.stdout.split("\n").filter((line) => line.trim() !== "");
  const header = JSON.parse(first ?? "{}") as { reply_to: string; reply_queue: string | null };
  return {
    replyTo: header.reply_to,
    replyQueue: header.reply_queue,
    outcomes: rest.map((line) => JSON.parse(line) as PythonOutcome),
  };
}

/** One message as py-amqp's `basic_get` decoded it (see peek.py). */
export interface PeekedMessage {
  /** Basic properties; `application_headers` holds the task headers. */
  properties: Record<string, unknown> & { application_headers?: Record<string, unknown> };
  /** Python type name of each decoded header value (`NoneType`, `list`, `str`, `int`…). */
  header_types: Record<string, string>;
  delivery_info: Record<string, unknown>;
  /** The body, decoded as UTF-8. */
  body: string;
}

/** Takes (and acks) `count` messages off `queue` with py-amqp, waiting up to `timeoutSeconds`. */
export async function peekWithPython(
  target: PythonTarget,
  count: number,
  timeoutSeconds = 10,
): Promise<PeekedMessage[]> {
  const args = [path.join(PYTHON_DIR, "peek.py"), target.queue, String(count), String(timeoutSeconds)];
  const result = await runCommand(PYTHON, args, {
    cwd: PYTHON_DIR,
    env: pythonEnv(target),
    timeoutMs: (timeoutSeconds + 10) * 1000,
  });
  if (result.status !== 0) {
    throw new Error(`peek.py exited with ${result.status}:\n${result.stderr}\n${result.stdout}`);
  }
  return result.stdout
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as PeekedMessage);
}
