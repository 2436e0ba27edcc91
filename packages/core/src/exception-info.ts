/**
 * Task failures in Celery's result format (celery-protocol.md §2.3): a thrown JS value becomes
 * `{exc_type, exc_message, exc_module}` plus a traceback string, and a stored one becomes an error
 * the caller can catch.
 */
import { TqError, toError } from "./errors.js";
import { argsRepr, pyRepr } from "./python-repr.js";
import type { ExceptionInfo } from "./result-backend.js";

/** What a stored failure says about the exception, as exposed by {@link TaskFailedError}. */
export interface RemoteExceptionDetails {
  /** Exception class name, e.g. `ValueError`. */
  excType: string;
  /** The exception's args (`exc_message`), e.g. `["bad input"]`. */
  excMessage: unknown[];
  /** The module the class lives in (`builtins`), or null. */
  excModule: string | null;
  /** The traceback stored with the failure, or null. */
  remoteTraceback: string | null;
}

/**
 * A task failed (code `TQ_TASK_FAILED`): what `AsyncResult.get()` throws, carrying the stored
 * exception, e.g. message `task 1f… failed: ValueError: bad input`.
 */
export class TaskFailedError extends TqError implements RemoteExceptionDetails {
  /** Id of the failed task. */
  readonly taskId: string;
  readonly excType: string;
  readonly excMessage: unknown[];
  readonly excModule: string | null;
  readonly remoteTraceback: string | null;

  constructor(taskId: string, details: RemoteExceptionDetails) {
    const text = exceptionText(details.excMessage);
    super("TQ_TASK_FAILED", `task ${taskId} failed: ${details.excType}${text === "" ? "" : `: ${text}`}`);
    this.name = "TaskFailedError";
    this.taskId = taskId;
    this.excType = details.excType;
    this.excMessage = details.excMessage;
    this.excModule = details.excModule;
    this.remoteTraceback = details.remoteTraceback;
  }
}

/**
 * A task was revoked (code `TQ_TASK_REVOKED`), before or while it ran, or expired. Celery stores
 * `TaskRevokedError` from `celery.exceptions` with a reason such as `revoked`, `expired` or `terminated`.
 */
export class TaskRevokedError extends TqError implements RemoteExceptionDetails {
  /** Id of the revoked task. */
  readonly taskId: string;
  readonly excType: string;
  readonly excMessage: unknown[];
  readonly excModule: string | null;
  readonly remoteTraceback: string | null;

  constructor(taskId: string, details: Partial<RemoteExceptionDetails> = {}) {
    const excMessage = details.excMessage ?? ["revoked"];
    const text = exceptionText(excMessage);
    super(
      "TQ_TASK_REVOKED",
      `task ${taskId} was revoked${text === "" || text === "revoked" ? "" : `: ${text}`}`,
    );
    this.name = "TaskRevokedError";
    this.taskId = taskId;
    this.excType = details.excType ?? "TaskRevokedError";
    this.excMessage = excMessage;
    this.excModule = details.excModule === undefined ? "celery.exceptions" : details.excModule;
    this.remoteTraceback = details.remoteTraceback ?? null;
  }
}

// Python's builtins whose names start with a capital letter are all exception classes except these;
// naming one of them (or a lower-case builtin such as `open`) makes Celery raise SecurityError.
const PY_BUILTIN_CONSTANTS = new Set(["Ellipsis", "False", "None", "NotImplemented", "True"]);
const PY_CLASS_NAME = /^[A-Z][A-Za-z0-9_]*$/;
const MAX_CAUSES = 8;

/**
 * Converts a thrown value into Celery's stored exception and a traceback string.
 *
 * - `exc_type`: the error's `excType` property when it has one (a string), else its `name`, or its
 *   constructor's name when `name` is the inherited `"Error"`; `"Exception"` for a thrown non-error.
 * - `exc_message`: `[message]`.
 * - `exc_module`: the error's `excModule` property when it has one (a string or null), else `"builtins"`,
 *   which Python clients can import: a `TypeError` comes back as Python's `TypeError`, an unknown name as
 *   a class Celery makes up. When `exc_type` is not a capitalised identifier, or is one of Python's
 *   non-exception builtins (`None`, `True`, …), `exc_module` is null instead, so Celery makes a class up
 *   rather than raising `SecurityError`.
 * - A {@link TaskFailedError} or {@link TaskRevokedError} (a failure awaited inside a task) passes the
 *   remote exception on unchanged, as Celery re-raises it.
 * - `traceback`: the stack (with its `cause` chain), or `Name: message` when there is none.
 */
export function errorToExceptionInfo(error: unknown): { info: ExceptionInfo; traceback: string } {
  if (error instanceof TaskFailedError || error instanceof TaskRevokedError) {
    const remote = error.remoteTraceback
      ? `\n\nRemote traceback (task ${error.taskId}):\n${error.remoteTraceback}`
      : "";
    return {
      info: { exc_type: error.excType, exc_message: error.excMessage, exc_module: error.excModule },
      traceback: `${stackOf(error)}${remote}`,
    };
  }
  if (!(error instanceof Error)) {
    const message = toError(error).message;
    return {
      info: { exc_type: "Exception", exc_message: [message], exc_module: "builtins" },
      traceback: `Exception: ${message}`,
    };
  }
  const ownType = (error as { excType?: unknown }).excType;
  const excType = typeof ownType === "string" && ownType !== "" ? ownType : errorTypeName(error);
  const own = (error as { excModule?: unknown }).excModule;
  const excModule =
    typeof own === "string" || own === null
      ? own
      : PY_CLASS_NAME.test(excType) && !PY_BUILTIN_CONSTANTS.has(excType)
        ? "builtins"
        : null;
  return {
    info: { exc_type: excType, exc_message: [error.message], exc_module: excModule },
    traceback: tracebackOf(error),
  };
}

/**
 * Rebuilds the error of a stored failure: a {@link TaskRevokedError} when `status` is `REVOKED`, else a
 * {@link TaskFailedError}. Tolerates malformed documents: a result that is not an object, a missing
 * `exc_type` (→ `Exception`), an `exc_message` that is a string rather than a list, a missing module.
 */
export function exceptionInfoToError(
  info: unknown,
  traceback: string | null,
  taskId: string,
): TaskFailedError;
export function exceptionInfoToError(
  info: unknown,
  traceback: string | null,
  taskId: string,
  status?: string,
): TaskFailedError | TaskRevokedError;
export function exceptionInfoToError(
  info: unknown,
  traceback: string | null,
  taskId: string,
  status?: string,
): TaskFailedError | TaskRevokedError {
  const details = readExceptionInfo(info, typeof traceback === "string" ? traceback : null);
  return status === "REVOKED" ? new TaskRevokedError(taskId, details) : new TaskFailedError(taskId, details);
}

function readExceptionInfo(info: unknown, remoteTraceback: string | null): RemoteExceptionDetails {
  if (typeof info !== "object" || info === null || Array.isArray(info)) {
    const excMessage = info === null || info === undefined ? [] : [info];
    return { excType: "Exception", excMessage, excModule: null, remoteTraceback };
  }
  const { exc_type: type, exc_message: message, exc_module: module } = info as Record<string, unknown>;
  return {
    excType: typeof type === "string" && type !== "" ? type : "Exception",
    excMessage: Array.isArray(message) ? message : message === undefined || message === null ? [] : [message],
    excModule: typeof module === "string" ? module : null,
    remoteTraceback,
  };
}

/** What Python's `str(exc)` prints for these args. */
function exceptionText(args: readonly unknown[]): string {
  if (args.length === 0) return "";
  if (args.length > 1) return argsRepr(args);
  const [only] = args;
  return typeof only === "string" ? only : pyRepr(only);
}

function errorTypeName(error: Error): string {
  const name = typeof error.name === "string" && error.name !== "" ? error.name : "Error";
  const constructorName = (error.constructor as { name?: unknown } | undefined)?.name;
  // A subclass that did not set `name` still reports "Error"; its class name says more.
  if (name === "Error" && typeof constructorName === "string" && constructorName !== "")
    return constructorName;
  return name;
}

function stackOf(error: Error): string {
  return typeof error.stack === "string" && error.stack !== ""
    ? error.stack
    : `${error.name}: ${error.message}`;
}

function tracebackOf(error: Error): string {
  const parts = [stackOf(error)];
  const seen = new Set<unknown>([error]);
  let cause = error.cause;
  while (cause !== undefined && !seen.has(cause) && parts.length <= MAX_CAUSES) {
    seen.add(cause);
    if (!(cause instanceof Error)) {
      parts.push(`Caused by: ${toError(cause).message}`);
      break;
    }
    parts.push(`Caused by: ${stackOf(cause)}`);
    cause = cause.cause;
  }
  return parts.join("\n\n");
}
