import {
  SoftTimeLimitExceeded,
  type TaskRequest,
  TimeLimitExceeded,
  TqError,
  type WorkerLostError,
} from "@tq/core";
import type { Job } from "./job.js";
import type { Pool } from "./pool/pool.js";
import type { TimeLimits } from "./pool/time-limits.js";
import { setLongTimeout } from "./timers.js";

/** How one run of a task ended. */
export type TaskOutcome =
  /** It returned. */
  | { kind: "success"; value: unknown }
  /** It threw, `Retry`/`Reject`/`Ignore` and an uncaught `SoftTimeLimitExceeded` included. */
  | { kind: "error"; error: unknown }
  /** Its hard time limit passed: its signal was aborted, its thread or process killed. */
  | { kind: "time-limit"; seconds: number }
  /** It was revoked with terminate: its signal was aborted, its thread or process killed. */
  | { kind: "terminated" }
  /** The worker gave up on it (shutdown deadline): its signal was aborted, its thread or process killed. */
  | { kind: "abandoned" }
  /** The thread or process running it died before it reported (killed, `process.exit()`, out of memory). */
  | { kind: "worker-lost"; error: WorkerLostError };

/**
 * Runs a job's task through the pool under its time limits. Resolves as soon as the task settles, its
 * hard limit passes, or the job is aborted (revoke with terminate, shutdown deadline): in the async
 * pool a JavaScript promise cannot be stopped from outside, so the function may go on in the
 * background until it notices its signal, and whatever it returns then is discarded; the threads and
 * processes pools kill the child running it.
 *
 * The soft limit aborts the task's signal with `SoftTimeLimitExceeded` and lets the run go on: armed
 * here for the pools that run tasks in this thread, in the child otherwise.
 */
export function runTask(
  job: Job,
  request: TaskRequest,
  pool: Pool,
  limits: TimeLimits,
): Promise<TaskOutcome> {
  if (job.aborted) return Promise.resolve(abortOutcome(job.abortReason));
  const { hard, soft } = limits;
  let stopListening = (): void => {};
  // One promise settled by whichever comes first: the pool's outcome or the abort.
  const outcome = new Promise<TaskOutcome>((resolve) => {
    stopListening = job.whenAborted(() => resolve(abortOutcome(job.abortReason)));
    pool
      .run(job, request, { softTimeLimit: pool.inline ? null : soft })
      .then(resolve, (error: unknown) => resolve({ kind: "error", error }));
  });
  const cancelHard =
    hard === null ? () => {} : setLongTimeout(() => job.abort(new TimeLimitExceeded(hard)), hard * 1000);
  const cancelSoft =
    soft === null || !pool.inline
      ? () => {}
      : setLongTimeout(() => job.interrupt(new SoftTimeLimitExceeded(soft)), soft * 1000);
  return outcome.finally(() => {
    cancelHard();
    cancelSoft();
    stopListening();
  });
}

/** The outcome a `job.abort(reason)` stands for (see the contract on `Job.abort`). */
export function abortOutcome(reason: unknown): TaskOutcome {
  if (reason instanceof TimeLimitExceeded) return { kind: "time-limit", seconds: reason.seconds };
  if (TqError.is(reason, "TQ_TASK_REVOKED")) return { kind: "terminated" };
  return { kind: "abandoned" };
}
