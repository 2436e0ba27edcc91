import {
  type App,
  type ExceptionInfo,
  errorToExceptionInfo,
  PROTOCOL_HEADERS,
  type Retry,
  type SendTaskOptions,
  UnrecoverableError,
} from "@tq/core";
import { celeryException, celeryTraceback } from "./celery-exceptions.js";
import type { Job } from "./job.js";

/** What to do with a `Retry`: send the task again at `eta`, or fail it. */
export type RetryPlan =
  | { kind: "retry"; eta: Date; cause: unknown; info: ExceptionInfo; traceback: string }
  | { kind: "fail"; error: unknown; info: ExceptionInfo; traceback: string };

// Custom headers (tracing ids, `x_custom`…) were the sender's and travel on; protocol headers are
// written anew, and transport markers must not follow the message.
const NOT_CARRIED: ReadonlySet<string> = new Set([
  ...PROTOCOL_HEADERS,
  "compression",
  "redelivered",
  "x-tq-rejected-reason",
]);

/**
 * RabbitMQ's dead-lettering records (`x-death`, `x-first-death-*`, `x-last-death-*`, from the delay
 * levels) and `x-delivery-count` describe the old message's path, not the task's: a retry starts anew.
 */
function isBrokerBookkeeping(key: string): boolean {
  return (
    key === "x-death" ||
    key === "x-delivery-count" ||
    key.startsWith("x-first-death") ||
    key.startsWith("x-last-death")
  );
}

/**
 * Decides a retry as Celery's `Task.retry` does: again while `retries < maxRetries` (the Retry's own
 * limit, else the task's, else 3; null means no limit), unless the cause is an `UnrecoverableError`.
 * A spent retry fails with its cause (Celery's `exc`), or with `MaxRetriesExceededError` when it gave
 * none.
 */
export function planRetry(job: Job, retry: Retry): RetryPlan {
  const { message, task } = job;
  const { countdown, eta, maxRetries: own } = retry.options;
  const cause = retry.exc;
  const maxRetries =
    own !== undefined ? own : task.options.maxRetries === undefined ? 3 : task.options.maxRetries;
  const spent = (maxRetries !== null && message.retries >= maxRetries) || isUnrecoverable(cause);
  if (spent) {
    if (cause !== undefined) return { kind: "fail", error: cause, ...errorToExceptionInfo(cause) };
    const text = `Can't retry ${message.task}[${message.id}] args:${message.argsrepr} kwargs:${message.kwargsrepr}`;
    return {
      kind: "fail",
      error: retry,
      info: celeryException("MaxRetriesExceededError", [text]),
      traceback: celeryTraceback("MaxRetriesExceededError", text),
    };
  }
  const delaySeconds = countdown ?? task.options.defaultRetryDelay ?? 180;
  const due = eta ?? new Date(Date.now() + delaySeconds * 1000);
  const text = `Retry in ${Math.max(0, Math.round((due.getTime() - Date.now()) / 1000))}s`;
  const described =
    cause === undefined
      ? { info: celeryException("Retry", [text]), traceback: celeryTraceback("Retry", text) }
      : errorToExceptionInfo(cause);
  return { kind: "retry", eta: due, cause, ...described };
}

/**
 * Sends the task again with the same id, arguments and workflow ids and one more retry, straight to
 * the queue it came from. Rejects when the broker did not take it.
 */
export async function republishForRetry(app: App, job: Job, eta: Date): Promise<void> {
  const { message } = job;
  const [timeLimit, softTimeLimit] = message.timeLimit;
  const headers = Object.fromEntries(
    Object.entries(message.headers).filter(([key]) => !NOT_CARRIED.has(key) && !isBrokerBookkeeping(key)),
  );
  const options: SendTaskOptions = {
    taskId: message.id,
    retries: message.retries + 1,
    eta,
    queue: job.queue,
    exchange: "",
    routingKey: job.queue,
    rootId: message.rootId,
    ignoreResult: message.ignoreResult,
    serializer: message.contentType,
    headers,
    embed: message.embed,
  };
  const replyTo = message.properties.reply_to;
  // The caller waiting on an rpc:// backend keeps getting this task's states.
  if (typeof replyTo === "string" && replyTo !== "") options.replyTo = replyTo;
  if (message.parentId !== null) options.parentId = message.parentId;
  if (message.group !== null) options.groupId = message.group;
  if (message.groupIndex !== null) options.groupIndex = message.groupIndex;
  if (message.shadow !== null) options.shadow = message.shadow;
  if (message.expires !== null) options.expires = message.expires;
  if (timeLimit !== null) options.timeLimit = timeLimit;
  if (softTimeLimit !== null) options.softTimeLimit = softTimeLimit;
  await app.sendTask(message.task, message.args, message.kwargs, options).sent;
}

// By name too: an error rebuilt after crossing a thread or process boundary keeps its name only.
function isUnrecoverable(error: unknown): boolean {
  return (
    error instanceof UnrecoverableError || (error instanceof Error && error.name === "UnrecoverableError")
  );
}
