import { performance } from "node:perf_hooks";
import {
  type App,
  type Broker,
  type ExceptionInfo,
  errorToExceptionInfo,
  Ignore,
  isLevelEnabled,
  type Logger,
  Reject,
  Retry,
  TqError,
  toError,
  type WorkerLostError,
} from "@tq/core";
import { createTaskRequest, type StateUpdater } from "./build-request.js";
import { continueWorkflow, failWorkflow, revokeInWorkflow } from "./canvas/workflow.js";
import { celeryException, celeryTraceback } from "./celery-exceptions.js";
import { errorText } from "./error-text.js";
import type { EmitWorkerEvent, WorkerEvents } from "./events.js";
import type { Job } from "./job.js";
import {
  isSoftTimeLimitExceeded,
  requeuesOnWorkerLost,
  softTimeLimitFailure,
  workerLostFailure,
} from "./pool/outcome-failures.js";
import type { Pool } from "./pool/pool.js";
import { type TimeLimits, timeLimitsFor } from "./pool/time-limits.js";
import type { ResultTarget, ResultWriter } from "./result-writer.js";
import { planRetry, republishForRetry } from "./retry.js";
import { runTask, type TaskOutcome } from "./run-task.js";
import { TaskHooks } from "./task-hooks.js";
import { createStateUpdater } from "./update-state.js";

/** What the executor needs from its worker. */
export interface ExecutorContext {
  readonly app: App;
  readonly broker: Broker;
  readonly hostname: string;
  readonly logger: Logger;
  readonly results: ResultWriter;
  readonly emit: EmitWorkerEvent;
  /** Whether an event has listeners: the per-task events are built only for someone. */
  readonly listens: (event: keyof WorkerEvents) => boolean;
  /** Whether a task id was revoked (`app.control.revoke`): such a job is not run. */
  readonly isRevoked?: (taskId: string) => boolean;
  /** Where tasks run. */
  readonly pool: Pool;
  /** The worker's time limits (`--time-limit`, `--soft-time-limit`), under the call's and the task's. */
  readonly timeLimits: TimeLimits;
}

/**
 * Runs one job from its slot to its settled delivery: early ack, STARTED, the task itself, then the
 * outcome stored and the delivery settled the way Celery's worker does. Never rejects.
 */
export class Executor {
  readonly #ctx: ExecutorContext;
  readonly #updateState: StateUpdater;
  readonly #hooks: TaskHooks;

  constructor(ctx: ExecutorContext) {
    this.#ctx = ctx;
    this.#updateState = createStateUpdater(ctx.app, ctx.hostname);
    this.#hooks = new TaskHooks(ctx.app, ctx.hostname, this.#updateState, ctx.logger);
  }

  /** Runs a job that holds a concurrency slot. */
  async execute(job: Job): Promise<void> {
    const { app, hostname, logger, results, emit, listens } = this.#ctx;
    if (isExpired(job)) return this.revokeExpired(job);
    // Checked again here: a revoke may have come while the job waited for its turn.
    if (this.#ctx.isRevoked?.(job.message.id)) return this.discardRevoked(job);
    // Acked before running (Celery's default): if the ack fails the broker hands the message out again,
    // so running it here too would run it twice.
    if (!job.acksLate && !(await job.settle("ack"))) return;
    const trackStarted = job.task.options.trackStarted ?? app.conf.taskTrackStarted;
    if (trackStarted) await results.store(resultTarget(job, app), "STARTED", { pid: process.pid, hostname });
    if (listens("task-started")) emit("task-started", job.info());
    if (isLevelEnabled(logger, "debug")) logger.debug("task started", job.attributes());
    const started = performance.now();
    const request = createTaskRequest(job.message, job.delivery, hostname, job, this.#updateState);
    this.#hooks.prerun(job, request);
    const outcome = await runTask(job, request, this.#ctx.pool, timeLimitsFor(job, this.#ctx.timeLimits));
    await this.#finish(job, outcome, Math.round((performance.now() - started) * 1000) / 1000);
    this.#hooks.postrun(job, outcome);
  }

  /** Stores REVOKED for a job whose id was revoked before it started, and acks it (Celery's "Discarding revoked task"). */
  async discardRevoked(job: Job): Promise<void> {
    const { task, id } = job.message;
    this.#ctx.logger.info(`discarding revoked task ${task}[${id}]`, job.attributes());
    await this.revoke(job, "revoked");
  }

  /** Stores REVOKED for a job whose `expires` passed before it started, and acks it. */
  async revokeExpired(job: Job): Promise<void> {
    const { task, id, expires } = job.message;
    this.#ctx.logger.warn(
      `task ${task}[${id}] expired at ${expires?.toISOString()} before it started; revoked`,
      {
        ...job.attributes(),
        "tq.expires": expires?.toISOString(),
      },
    );
    await this.revoke(job, "expired");
  }

  /**
   * Stores REVOKED (Celery's `TaskRevokedError` with the reason: `revoked`, `expired` or `terminated`),
   * emits `task-revoked` and acks the message: a revoked task is never run, nor run again.
   */
  async revoke(job: Job, reason: RevokeReason): Promise<void> {
    const { app, results, emit } = this.#ctx;
    const exception = celeryException("TaskRevokedError", [reason]);
    await results.store(resultTarget(job, app), "REVOKED", exception, null);
    emit("task-revoked", { ...job.info(), reason });
    this.#hooks.revoked(job, reason);
    await revokeInWorkflow(this.#ctx, job, exception);
    await job.settle("ack");
  }

  async #finish(job: Job, outcome: TaskOutcome, runtimeMs: number): Promise<void> {
    switch (outcome.kind) {
      case "success":
        return this.#succeed(job, outcome.value, runtimeMs);
      case "time-limit": {
        const text = `TimeLimitExceeded(${outcome.seconds})`;
        const info = celeryException("TimeLimitExceeded", [outcome.seconds]);
        const error = toError(job.abortReason);
        return this.#fail(job, error, info, celeryTraceback("TimeLimitExceeded", text), runtimeMs);
      }
      case "abandoned":
        return this.#giveBack(job);
      case "terminated":
        return this.revoke(job, "terminated");
      case "worker-lost":
        return this.#workerLost(job, outcome.error, runtimeMs);
      case "error":
        return this.#handleError(job, outcome.error, runtimeMs);
    }
  }

  // As Celery: with acks late and reject_on_worker_lost the message goes back and runs again, and no
  // state is stored; otherwise FAILURE WorkerLostError, and the message is acked.
  async #workerLost(job: Job, error: WorkerLostError, runtimeMs: number): Promise<void> {
    if (requeuesOnWorkerLost(job, this.#ctx.app) && job.settlement === null) {
      this.#ctx.logger.warn(`${errorText(error)}; the task's message was requeued`, job.attributes());
      await job.settle("requeue");
      return;
    }
    const { info, traceback } = workerLostFailure(error);
    return this.#fail(job, error, info, traceback, runtimeMs);
  }

  async #handleError(job: Job, error: unknown, runtimeMs: number): Promise<void> {
    const { logger } = this.#ctx;
    if (error instanceof Retry) return this.#retry(job, error, runtimeMs);
    if (error instanceof Reject) return this.#reject(job, error);
    if (error instanceof Ignore) {
      logger.debug("task ignored", job.attributes());
      await job.settle("ack");
      return;
    }
    const { info, traceback } = isSoftTimeLimitExceeded(error)
      ? softTimeLimitFailure(error)
      : errorToExceptionInfo(error);
    return this.#fail(job, error, info, traceback, runtimeMs);
  }

  // Celery stores nothing for Reject and drops or requeues the message. A message acked before the run
  // (acks early, the default) is no longer the broker's to put back; Celery then loses it even with
  // `requeue`, where tq publishes it again as it arrived, so `requeue` means the same in both modes.
  async #reject(job: Job, reject: Reject): Promise<void> {
    const { broker, logger, emit } = this.#ctx;
    const { requeue } = reject;
    logger.warn(`task rejected its message: ${reject.message}`, {
      ...job.attributes(),
      "tq.requeue": requeue,
    });
    emit("task-rejected", { ...job.info(), requeue, reason: reject.message });
    if (job.settlement === null) {
      await job.settle(requeue ? "requeue" : "reject");
      return;
    }
    if (!requeue) return;
    try {
      await broker.publish(job.delivery.message, { exchange: "", routingKey: job.queue });
      logger.info("rejected message was acknowledged before the run; published it again", job.attributes());
    } catch (publishError) {
      logger.error("rejected message was acknowledged before the run and could not be published again", {
        ...job.attributes(),
        error: publishError,
      });
    }
  }

  async #succeed(job: Job, value: unknown, runtimeMs: number): Promise<void> {
    const { app, logger, results, emit, listens } = this.#ctx;
    const failed = await results.store(resultTarget(job, app), "SUCCESS", value, null);
    if (TqError.is(failed, "TQ_SERIALIZATION")) {
      // A value the backend cannot serialize (a BigInt, a function, a cycle) would leave the caller
      // waiting forever; Celery stores kombu's EncodeError instead, and so do we.
      const text = errorText(failed);
      const info = { exc_type: "EncodeError", exc_message: [text], exc_module: "kombu.exceptions" };
      return this.#fail(job, failed, info, `kombu.exceptions.EncodeError: ${text}\n`, runtimeMs);
    }
    // A line and an event per task: built only when someone reads them.
    if (isLevelEnabled(logger, "info")) {
      logger.info(`task succeeded in ${runtimeMs}ms`, { ...job.attributes(), "tq.runtime_ms": runtimeMs });
    }
    if (listens("task-succeeded")) emit("task-succeeded", { ...job.info(), result: value, runtimeMs });
    this.#hooks.success(job, value);
    // Before the ack: with acks late, a crash before the next step is sent runs the task again.
    await continueWorkflow(this.#ctx, job, value);
    await job.settle("ack");
  }

  async #fail(
    job: Job,
    error: unknown,
    exception: ExceptionInfo,
    traceback: string,
    runtimeMs: number,
  ): Promise<void> {
    const { app, logger, results, emit } = this.#ctx;
    await results.store(resultTarget(job, app), "FAILURE", exception, traceback);
    logger.error(`task failed in ${runtimeMs}ms: ${exception.exc_type}`, {
      ...job.attributes(),
      "tq.runtime_ms": runtimeMs,
      error: error instanceof Error ? error : toError(error),
    });
    emit("task-failed", { ...job.info(), error, exception, runtimeMs });
    this.#hooks.failure(job, error, exception, traceback);
    await failWorkflow(this.#ctx, job, { error, exception, traceback });
    // A failed task is acked even when acks are late, as Celery's task_acks_on_failure_or_timeout.
    await job.settle("ack");
  }

  async #retry(job: Job, retry: Retry, runtimeMs: number): Promise<void> {
    const { app, logger, results, emit } = this.#ctx;
    const plan = planRetry(job, retry);
    if (plan.kind === "fail") return this.#fail(job, plan.error, plan.info, plan.traceback, runtimeMs);
    // RETRY is stored before the new message exists, so a fast second run cannot have its state
    // overwritten by this one's.
    await results.store(resultTarget(job, app), "RETRY", plan.info, plan.traceback);
    try {
      await republishForRetry(app, job, plan.eta);
    } catch (error) {
      logger.error("could not send a task retry", { ...job.attributes(), error });
      if (job.settlement === null) {
        await job.settle("requeue");
        return;
      }
      const { info, traceback } = errorToExceptionInfo(error);
      return this.#fail(job, error, info, traceback, runtimeMs);
    }
    logger.info(`task retry due at ${plan.eta.toISOString()}`, {
      ...job.attributes(),
      "tq.retries": job.message.retries + 1,
    });
    emit("task-retried", { ...job.info(), error: plan.cause, eta: plan.eta });
    this.#hooks.retry(job, plan.cause ?? retry, plan.eta);
    await job.settle("ack");
  }

  // At-least-once at the shutdown deadline: an unacked message goes back through the broker, an
  // acked one is published again unchanged. What the task does afterwards is discarded.
  async #giveBack(job: Job): Promise<void> {
    const { broker, logger } = this.#ctx;
    if (job.settlement === null) {
      logger.warn("task still running at the shutdown deadline; its message was requeued", job.attributes());
      await job.settle("requeue");
      return;
    }
    try {
      await broker.publish(job.delivery.message, { exchange: "", routingKey: job.queue });
      logger.warn(
        "task still running at the shutdown deadline; its message was published again",
        job.attributes(),
      );
    } catch (error) {
      logger.error(
        "task still running at the shutdown deadline and its message could not be published again",
        {
          ...job.attributes(),
          error,
        },
      );
    }
  }
}

/** Why a task was revoked, as Celery stores it in `TaskRevokedError`'s arguments. */
export type RevokeReason = "revoked" | "expired" | "terminated";

/** True when the job's `expires` time has passed. */
export function isExpired(job: Job): boolean {
  const expires = job.message.expires;
  return expires !== null && expires.getTime() <= Date.now();
}

/** The job as a result target: results are stored unless ignored by header, task option or app setting. */
export function resultTarget(job: Job, app: App): ResultTarget {
  const ignored = job.message.ignoreResult || (job.task.options.ignoreResult ?? app.conf.taskIgnoreResult);
  return { message: job.message, queue: job.queue, storesResult: !ignored };
}
