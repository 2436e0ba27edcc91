import {
  type App,
  type ExceptionInfo,
  errorToExceptionInfo,
  SoftTimeLimitExceeded,
  TqError,
  type WorkerLostError,
} from "@tq/core";
import { errorText } from "../error-text.js";
import type { Job } from "../job.js";

/** A failure as the executor stores it: the exception document and its traceback. */
export interface StoredFailure {
  info: ExceptionInfo;
  traceback: string;
}

/**
 * Whether a job whose thread or process died goes back to the queue (it runs again, nothing is
 * stored) rather than failing with `WorkerLostError`: only with acks late and `rejectOnWorkerLost`
 * (task option, else `taskRejectOnWorkerLost`), as Celery's `reject_on_worker_lost`.
 */
export function requeuesOnWorkerLost(job: Job, app: App): boolean {
  return job.acksLate && (job.task.options.rejectOnWorkerLost ?? app.conf.taskRejectOnWorkerLost);
}

/** Celery's `billiard.exceptions.WorkerLostError('Worker exited prematurely: signal 9 (SIGKILL) Job: 0.')`. */
export function workerLostFailure(error: WorkerLostError): StoredFailure {
  const text = errorText(error);
  return {
    info: { exc_type: "WorkerLostError", exc_message: [text], exc_module: "billiard.exceptions" },
    traceback: `billiard.exceptions.WorkerLostError: ${text}\n`,
  };
}

/** True for core's `SoftTimeLimitExceeded`, from any copy of core (it may come from the app's own). */
export function isSoftTimeLimitExceeded(error: unknown): error is SoftTimeLimitExceeded {
  return (
    error instanceof SoftTimeLimitExceeded ||
    (TqError.is(error, "TQ_SOFT_TIME_LIMIT") && error.name === "SoftTimeLimitExceeded")
  );
}

/**
 * An uncaught soft time limit, stored as Celery stores the one billiard raises: `SoftTimeLimitExceeded()`
 * with no arguments, with the task's own stack as the traceback (it says where the task was).
 */
export function softTimeLimitFailure(error: SoftTimeLimitExceeded): StoredFailure {
  return {
    info: { exc_type: "SoftTimeLimitExceeded", exc_message: [], exc_module: error.excModule },
    traceback: errorToExceptionInfo(error).traceback,
  };
}
