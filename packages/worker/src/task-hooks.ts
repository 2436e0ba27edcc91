import {
  type App,
  type ExceptionInfo,
  Ignore,
  type Logger,
  Reject,
  type Signals,
  type TaskRequest,
  type TaskStateName,
  type TqSignals,
} from "@tq/core";
import { createTaskRequest, type StateUpdater } from "./build-request.js";
import type { Job } from "./job.js";
import type { TaskOutcome } from "./run-task.js";

/** What a run has said so far, for its `taskPostrun`. */
interface RunRecord {
  readonly request: TaskRequest;
  state: TaskStateName | undefined;
  retval: unknown;
}

/**
 * Sends the worker's task signals (`app.signals`: `taskPrerun`, `taskSuccess`, `taskFailure`,
 * `taskRetry`, `taskRevoked`, `taskPostrun`) from the executor. Every method returns at once when no
 * handler is connected, so a worker without hooks builds no payload and keeps no record per task.
 *
 * Handlers run in the worker's main thread, also for tasks run by a threads or processes pool (around
 * the run in the child): a child process has its own app and its own `app.signals`.
 */
export class TaskHooks {
  readonly #signals: Signals<TqSignals>;
  readonly #hostname: string;
  readonly #updater: StateUpdater;
  readonly #logger: Logger;
  // Runs started while a handler was connected, so that every signal of a run carries the same request
  // and postrun knows how the run ended. Weak: a job that is done and dropped takes its record along.
  readonly #runs = new WeakMap<Job, RunRecord>();

  constructor(app: App, hostname: string, updater: StateUpdater, logger: Logger) {
    this.#signals = app.signals;
    this.#hostname = hostname;
    this.#updater = updater;
    this.#logger = logger;
  }

  /** The task is about to run with `request`: `taskPrerun`. */
  prerun(job: Job, request: TaskRequest): void {
    const signals = this.#signals;
    if (signals.size === 0) return;
    if (
      signals.has("taskPostrun") ||
      signals.has("taskSuccess") ||
      signals.has("taskFailure") ||
      signals.has("taskRetry") ||
      signals.has("taskRevoked")
    ) {
      this.#runs.set(job, { request, state: undefined, retval: undefined });
    }
    if (signals.has("taskPrerun")) {
      const { args, kwargs } = request;
      signals.emit("taskPrerun", { ...this.#common(job, request), args, kwargs }, this.#logger);
    }
  }

  /** SUCCESS was stored: `taskSuccess`. */
  success(job: Job, result: unknown): void {
    if (this.#signals.size === 0) return;
    const request = this.#ended(job, "SUCCESS", result);
    if (this.#signals.has("taskSuccess")) {
      this.#signals.emit("taskSuccess", { ...this.#common(job, request), result }, this.#logger);
    }
  }

  /** FAILURE was stored: `taskFailure`. */
  failure(job: Job, error: unknown, exception: ExceptionInfo, traceback: string): void {
    if (this.#signals.size === 0) return;
    const request = this.#ended(job, "FAILURE", error);
    if (this.#signals.has("taskFailure")) {
      const { args, kwargs } = request;
      const payload = { ...this.#common(job, request), args, kwargs, error, exception, traceback };
      this.#signals.emit("taskFailure", payload, this.#logger);
    }
  }

  /** The retry was published: `taskRetry`. */
  retry(job: Job, reason: unknown, eta: Date): void {
    if (this.#signals.size === 0) return;
    const request = this.#ended(job, "RETRY", reason);
    if (this.#signals.has("taskRetry")) {
      this.#signals.emit("taskRetry", { ...this.#common(job, request), reason, eta }, this.#logger);
    }
  }

  /** REVOKED was stored (revoked, expired, or terminated while running): `taskRevoked`. */
  revoked(job: Job, reason: "revoked" | "expired" | "terminated"): void {
    if (this.#signals.size === 0) return;
    // No postrun after a revoke: as in Celery, whose terminated run never reaches its postrun.
    const run = this.#runs.get(job);
    this.#runs.delete(job);
    if (this.#signals.has("taskRevoked")) {
      const request = run?.request ?? this.#request(job);
      const terminated = reason === "terminated";
      const expired = reason === "expired";
      const payload = { ...this.#common(job, request), reason, terminated, expired };
      this.#signals.emit("taskRevoked", payload, this.#logger);
    }
  }

  /**
   * The run's outcome was handled: `taskPostrun` with the state it ended in. A `Reject` or `Ignore`
   * ends in REJECTED or IGNORED; a run abandoned at the shutdown deadline, or revoked, sends none.
   */
  postrun(job: Job, outcome: TaskOutcome): void {
    if (this.#signals.size === 0) return;
    const run = this.#runs.get(job);
    if (!run) return;
    this.#runs.delete(job);
    if (!this.#signals.has("taskPostrun")) return;
    let { state, retval } = run;
    if (state === undefined && outcome.kind === "error") {
      retval = outcome.error;
      if (outcome.error instanceof Reject) state = "REJECTED";
      else if (outcome.error instanceof Ignore) state = "IGNORED";
    }
    if (state === undefined) return;
    const { request } = run;
    const { args, kwargs } = request;
    const payload = { ...this.#common(job, request), args, kwargs, retval, state };
    this.#signals.emit("taskPostrun", payload, this.#logger);
  }

  #ended(job: Job, state: TaskStateName, retval: unknown): TaskRequest {
    const run = this.#runs.get(job);
    if (!run) return this.#request(job);
    run.state = state;
    run.retval = retval;
    return run.request;
  }

  // A request for a job that did not run while a handler was connected (an expired or revoked one).
  #request(job: Job): TaskRequest {
    return createTaskRequest(job.message, job.delivery, this.#hostname, job, this.#updater);
  }

  #common(job: Job, request: TaskRequest) {
    return { taskId: job.message.id, taskName: job.task.name, task: job.task, request };
  }
}
