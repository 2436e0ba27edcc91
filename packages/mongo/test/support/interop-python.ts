/**
 * The Python side of the interop tests: Celery 5's MongoDB result backend (`celery/backends/mongodb.py`
 * on pymongo), driven by test/interop/python/celery_backend.py with Debian's interpreter
 * (/usr/bin/python3, which has python3-celery and python3-pymongo; the `python3` on PATH may not).
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { PACKAGE_DIR, runCommand } from "./interop-processes.js";

/** The interpreter that has Celery 5.2 and pymongo. */
export const PYTHON = "/usr/bin/python3";
/** Where celery_backend.py and interop_errors.py live. */
export const PYTHON_DIR = path.join(PACKAGE_DIR, "test/interop/python");

/**
 * Why the interop tests cannot run here (no interpreter, or it cannot import celery and pymongo), or
 * null when they can. CI installs both (scripts/ensure-services.mjs).
 */
export const pythonUnavailable: string | null = (() => {
  const probe = spawnSync(PYTHON, ["-c", "import celery, pymongo"], { encoding: "utf8", timeout: 30_000 });
  if (probe.error) return `${PYTHON} cannot be run: ${probe.error.message}`;
  if (probe.status !== 0) {
    const lastLine = probe.stderr.trim().split("\n").at(-1) ?? `exit status ${probe.status}`;
    return `${PYTHON} cannot import celery and pymongo (${lastLine})`;
  }
  return null;
})();

/** A task request as celery_backend.py builds it (celery.app.task.Context). */
export interface PythonRequest {
  id?: string;
  group?: string;
  parent_id?: string;
  task?: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  hostname?: string;
  retries?: number;
  routing_key?: string;
  /** Task ids (AsyncResult children) or groups (GroupResult children). */
  children?: (string | { group: string; members: string[] })[];
}

/** An exception celery_backend.py raises: a builtins name or one of interop_errors.py. */
export interface PythonException {
  type: string;
  args: unknown[];
}

/** One operation of celery_backend.py (its docstring describes each). */
export type PythonOp =
  | {
      op: "store_result";
      id: string;
      result: unknown;
      state: string;
      traceback?: string;
      request?: PythonRequest;
    }
  | { op: "mark_as_done"; id: string; result: unknown; request?: PythonRequest }
  | {
      op: "mark_as_failure" | "mark_as_retry";
      id: string;
      exception: PythonException;
      request?: PythonRequest;
    }
  | { op: "mark_as_revoked"; id: string; reason: string }
  | { op: "save_group"; id: string; members: string[] }
  | { op: "read"; id: string; wait?: boolean; timeout?: number }
  | { op: "restore_group"; id: string };

/** An exception as Python holds it. */
export interface PythonExceptionReport {
  /** `module.QualName` of its class. */
  exc_class: string;
  exc_args: unknown[];
  /** `str(exc)`. */
  str: string;
  is_exception: boolean;
}

/** A value, or the exception a call raised or a result holds. */
export type PythonValue = { value: unknown } | { exception: PythonExceptionReport };

/** What `AsyncResult(id)` gave (op "read"). */
export interface PythonRead {
  op: "read";
  id: string;
  /** `AsyncResult.get(propagate=True)`: its value or what it raised (absent when `wait` was false). */
  get?: PythonValue;
  state: string;
  result: PythonValue;
  traceback: string | null;
  /** `.date_done`: a datetime's isoformat and tzinfo, or another type's repr. */
  date_done: { type: "datetime"; iso: string; tz: string } | { type: string; repr: string } | null;
  /** `.children`: task ids and `{group, members}`. */
  children: unknown[] | null;
  /** The keys of `backend.get_task_meta(id)`. */
  meta_keys: string[];
}

/** What `GroupResult.restore(id)` gave (op "restore_group"). */
export interface PythonGroup {
  op: "restore_group";
  id: string;
  found: boolean;
  /** The type restore returned (Celery 5.2's MongoBackend gives a `list`). */
  type?: string;
  members?: string[];
  states?: string[];
  values?: PythonValue[];
}

/** The line of a write op; failures carry the traceback Python stored. */
export interface PythonWrite {
  op: string;
  id: string;
  traceback?: string;
}

/** One output line per op, in order. */
export type PythonReport = PythonRead | PythonGroup | PythonWrite;

/**
 * Runs celery_backend.py with `result_backend = url` (and `result_extended` when `extended`), the ops
 * in order; one report per op. Rejects with the script's output when it does not exit 0.
 */
export async function runCeleryBackend(
  url: string,
  ops: readonly PythonOp[],
  options: { extended?: boolean; timeoutMs?: number } = {},
): Promise<PythonReport[]> {
  const spec = JSON.stringify({ url, extended: options.extended ?? false, ops });
  const result = await runCommand(PYTHON, [path.join(PYTHON_DIR, "celery_backend.py"), spec], {
    cwd: PYTHON_DIR,
    env: { PYTHONPATH: PYTHON_DIR, PYTHONUNBUFFERED: "1", PYTHONIOENCODING: "utf-8" },
    timeoutMs: options.timeoutMs ?? 45_000,
  });
  if (result.status !== 0) {
    throw new Error(
      `celery_backend.py exited with ${result.status}${result.timedOut ? " (timed out)" : ""}:\n${result.stderr}\n${result.stdout}`,
    );
  }
  const reports = result.stdout
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as PythonReport);
  if (reports.length !== ops.length) {
    throw new Error(
      `celery_backend.py printed ${reports.length} reports for ${ops.length} ops:\n${result.stdout}`,
    );
  }
  return reports;
}

/** The report of a read op, checked. */
export function asRead(report: PythonReport | undefined): PythonRead {
  if (report?.op !== "read") throw new Error(`expected a read report, got ${JSON.stringify(report)}`);
  return report as PythonRead;
}

/** The report of a restore_group op, checked. */
export function asGroup(report: PythonReport | undefined): PythonGroup {
  if (report?.op !== "restore_group")
    throw new Error(`expected a group report, got ${JSON.stringify(report)}`);
  return report as PythonGroup;
}
