import {
  Ignore,
  Reject,
  Retry,
  type RetryOptions,
  SoftTimeLimitExceeded,
  TaskFailedError,
  TaskRevokedError,
  TimeLimitExceeded,
  TqError,
  toError,
  UnrecoverableError,
} from "@tq/core";
import { errorText } from "../error-text.js";

/**
 * A thrown value as it crosses from a pool's child to the worker: plain data that survives the
 * structured clone, from which the worker rebuilds an error its executor treats exactly as the one
 * thrown in its own thread (a `Retry` with its options, a `Reject`, an `Ignore`, a failure with the
 * same exception type, message, module and traceback).
 */
export interface WireError {
  /** The exception type: the error's `name`, or its class name when `name` is the inherited "Error". */
  name: string;
  /** The message (with tq's prefix, if it had one). */
  message: string;
  /** The stack as the child printed it. */
  stack?: string;
  /** The error's string `code` (`TQ_RETRY`, `ENOENT`…). */
  code?: string;
  /** The error's own `excModule`, when it had one (null included). */
  excModule?: string | null;
  /** Its `cause`, a few levels deep. */
  cause?: WireError;
  /** True when the value thrown was not an Error: `message` is its text. */
  notAnError?: boolean;
  /** A `Retry`'s options (its `exc` as a wire error). */
  retry?: { countdown?: number; eta?: Date; maxRetries?: number | null; exc?: WireError };
  /** A `Reject`'s `requeue`. */
  requeue?: boolean;
  /** A time limit's seconds. */
  seconds?: number;
  /** The stored exception of a `TaskFailedError` / `TaskRevokedError` awaited inside the task. */
  remote?: {
    taskId: string;
    excType: string;
    excMessage: unknown[];
    excModule: string | null;
    remoteTraceback: string | null;
    revoked: boolean;
  };
}

const MAX_DEPTH = 8;

/** Turns any thrown value into a {@link WireError}. Recognises tq's errors by code, from any copy of core. */
export function encodeError(thrown: unknown, depth = 0): WireError {
  if (!(thrown instanceof Error))
    return { name: "Exception", message: toError(thrown).message, notAnError: true };
  const wire: WireError = { name: typeName(thrown), message: thrown.message };
  if (typeof thrown.stack === "string") wire.stack = thrown.stack;
  const own = thrown as unknown as Record<string, unknown>;
  if (typeof own.code === "string") wire.code = own.code;
  if (typeof own.excModule === "string" || own.excModule === null) wire.excModule = own.excModule;
  if (TqError.is(thrown, "TQ_RETRY")) wire.retry = retryOf(thrown as Retry, depth);
  else if (TqError.is(thrown, "TQ_REJECT")) wire.requeue = own.requeue === true;
  else if (typeof own.seconds === "number") wire.seconds = own.seconds;
  if (TqError.is(thrown, "TQ_TASK_FAILED") || TqError.is(thrown, "TQ_TASK_REVOKED")) {
    const remote = thrown as TaskFailedError;
    wire.remote = {
      taskId: remote.taskId,
      excType: remote.excType,
      excMessage: remote.excMessage,
      excModule: remote.excModule,
      remoteTraceback: remote.remoteTraceback,
      revoked: thrown.code === "TQ_TASK_REVOKED",
    };
  }
  if (thrown.cause !== undefined && depth < MAX_DEPTH && !wire.retry) {
    wire.cause = encodeError(thrown.cause, depth + 1);
  }
  return wire;
}

/** Rebuilds the error a {@link WireError} describes, with this copy of core's classes. */
export function decodeError(wire: WireError): unknown {
  // A thrown string, number or object: errorToExceptionInfo gives the same `Exception: <text>`.
  if (wire.notAnError) return wire.message;
  return withStack(rebuild(wire), wire.stack);
}

function rebuild(wire: WireError): Error {
  const reason = errorText(wire);
  switch (wire.code) {
    case "TQ_RETRY":
      return rebuildRetry(wire);
    case "TQ_REJECT":
      return new Reject(reason, { requeue: wire.requeue === true });
    case "TQ_IGNORE":
      return new Ignore(reason);
    case "TQ_SOFT_TIME_LIMIT":
      if (wire.seconds !== undefined) return new SoftTimeLimitExceeded(wire.seconds);
      break;
    case "TQ_TIMEOUT":
      if (wire.name === "TimeLimitExceeded" && wire.seconds !== undefined) {
        return new TimeLimitExceeded(wire.seconds);
      }
      break;
  }
  if (wire.remote) {
    const { taskId, revoked, ...details } = wire.remote;
    return revoked ? new TaskRevokedError(taskId, details) : new TaskFailedError(taskId, details);
  }
  const cause = wire.cause === undefined ? undefined : decodeError(wire.cause);
  if (wire.name === "UnrecoverableError") return new UnrecoverableError(wire.message, { cause });
  const error = wire.code?.startsWith("TQ_")
    ? new TqError(wire.code, "", { cause })
    : new Error("", { cause });
  error.message = wire.message;
  error.name = wire.name;
  const fields = error as unknown as Record<string, unknown>;
  if (wire.code !== undefined) fields.code = wire.code;
  if (wire.excModule !== undefined) fields.excModule = wire.excModule;
  if (cause === undefined) delete fields.cause;
  return error;
}

function rebuildRetry(wire: WireError): Error {
  const { exc, ...options } = wire.retry ?? {};
  const retryOptions: RetryOptions = { ...options };
  if (exc !== undefined) retryOptions.exc = decodeError(exc);
  try {
    return new Retry(retryOptions);
  } catch {
    // The child's Retry was valid there; a version mismatch could still refuse it here.
    return new Retry(exc === undefined ? {} : { exc: retryOptions.exc });
  }
}

function retryOf(retry: Retry, depth: number): NonNullable<WireError["retry"]> {
  const options = (retry.options ?? {}) as RetryOptions;
  const wire: NonNullable<WireError["retry"]> = {};
  if (typeof options.countdown === "number") wire.countdown = options.countdown;
  if (options.eta instanceof Date) wire.eta = options.eta;
  if (options.maxRetries !== undefined) wire.maxRetries = options.maxRetries;
  const exc = (retry as { exc?: unknown }).exc ?? options.exc ?? options.cause;
  if (exc !== undefined) wire.exc = encodeError(exc, depth + 1);
  return wire;
}

// As errorToExceptionInfo names it: a subclass that did not set `name` reports its class name.
function typeName(error: Error): string {
  const name = typeof error.name === "string" && error.name !== "" ? error.name : "Error";
  const constructorName = (error.constructor as { name?: unknown } | undefined)?.name;
  if (name === "Error" && typeof constructorName === "string" && constructorName !== "")
    return constructorName;
  return name;
}

function withStack(error: Error, stack: string | undefined): Error {
  if (stack !== undefined) error.stack = stack;
  return error;
}
