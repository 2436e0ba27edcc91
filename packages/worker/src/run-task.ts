import { type TaskRequest, TqError } from "@tq/core";
import { invokeTask } from "./invoke-task.js";
import type { Job } from "./job.js";
import { setLongTimeout } from "./timers.js";

/** How one run of a task ended. */
export type TaskOutcome =
  /** It returned. */
  | { kind: "success"; value: unknown }
  /** It threw, `Retry`/`Reject`/`Ignore` included, or its arguments did not fit. */
  | { kind: "error"; error: unknown }
  /** Its hard time limit passed; its signal was aborted. */
  | { kind: "time-limit"; seconds: number }
  /** The worker gave up on it (shutdown deadline); its signal was aborted. */
  | { kind: "abandoned" };

/**
 * Runs the task function of a job in its request context. Resolves as soon as the task settles, its
 * time limit passes or its signal is aborted by the worker; in the last two cases a JavaScript promise
 * cannot be stopped from outside, so the function may go on in the background until it notices the
 * signal, and whatever it returns then is discarded.
 */
export function runTask(
  job: Job,
  request: TaskRequest,
  timeLimitSeconds: number | null,
): Promise<TaskOutcome> {
  const { task, message } = job;
  let timedOut = false;
  let cancelTimer = (): void => {};
  let stopListening = (): void => {};
  const outcome = new Promise<TaskOutcome>((resolve) => {
    stopListening = job.whenAborted(() =>
      resolve(timedOut ? { kind: "time-limit", seconds: timeLimitSeconds ?? 0 } : { kind: "abandoned" }),
    );
    if (job.aborted) return;
    if (timeLimitSeconds !== null && timeLimitSeconds > 0) {
      cancelTimer = setLongTimeout(() => {
        timedOut = true;
        job.abort(
          new TqError(
            "TQ_TIMEOUT",
            `task ${message.task}[${message.id}] passed its time limit of ${timeLimitSeconds}s`,
          ),
        );
      }, timeLimitSeconds * 1000);
    }
    invokeTask(task, request).then(
      (value) => resolve({ kind: "success", value }),
      (error: unknown) => resolve({ kind: "error", error }),
    );
  });
  return outcome.finally(() => {
    cancelTimer();
    stopListening();
  });
}
