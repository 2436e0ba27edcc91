import type { Delivery, LogAttributes, Logger, Task, TaskMessage } from "@tq/core";
import type { TaskEventInfo } from "./events.js";

/** How a delivery was settled. */
export type Settlement = "ack" | "reject" | "requeue";

/** Where a job is: waiting for a slot, held until its ETA, running, or done. */
export type JobStage = "waiting" | "held" | "running" | "done";

/**
 * One task message on its way through the worker. It settles its delivery at most once, so that a
 * task finishing after its time limit or after shutdown gave its message back cannot settle it again.
 */
export class Job {
  /** The broker's delivery. */
  readonly delivery: Delivery;
  /** The decoded message. */
  readonly message: TaskMessage;
  /** The registered task it names. */
  readonly task: Task;
  /** Acknowledge after the outcome is stored rather than before running. */
  readonly acksLate: boolean;
  /** Where the job is now. */
  stage: JobStage = "waiting";
  #settlement: Settlement | null = null;
  readonly #logger: Logger;
  // The abort signal is made when a task asks for it: most never do, and an AbortController per
  // task was a measurable share of the worker's time (see bench/README.md).
  #controller: AbortController | undefined;
  #aborted = false;
  #abortReason: unknown;
  // Set by a soft time limit: the signal fires, the run goes on.
  #interrupted = false;
  #interruptReason: unknown;
  // Usually one listener (the run); the threads and processes pools add one (the child to kill).
  #onAbort: (() => void) | undefined;
  #moreOnAbort: (() => void)[] | undefined;

  constructor(delivery: Delivery, message: TaskMessage, task: Task, acksLate: boolean, logger: Logger) {
    this.delivery = delivery;
    this.message = message;
    this.task = task;
    this.acksLate = acksLate;
    this.#logger = logger;
  }

  /**
   * The task's `request.signal`: aborted at its soft time limit ({@link interrupt}), or when its run
   * ends for good ({@link abort}: hard time limit, revoke with terminate, shutdown deadline).
   */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#interrupted) this.#controller.abort(this.#interruptReason);
      else if (this.#aborted) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  /** Whether {@link abort} was called. */
  get aborted(): boolean {
    return this.#aborted;
  }

  /** The reason given to {@link abort}. */
  get abortReason(): unknown {
    return this.#abortReason;
  }

  /**
   * Ends the run for good (once): aborts the task's signal, unless a soft limit did already, and tells
   * those waiting on it ({@link whenAborted}). The reason says what the worker does next:
   * `TimeLimitExceeded` stores FAILURE, core `TaskRevokedError` stores REVOKED (`terminated`), a
   * `TqError("TQ_ABORTED")` gives the message back. The threads and processes pools kill the child
   * running the task.
   */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
    const first = this.#onAbort;
    const more = this.#moreOnAbort;
    this.#onAbort = undefined;
    this.#moreOnAbort = undefined;
    first?.();
    for (const listener of more ?? []) listener();
  }

  /**
   * Aborts the task's signal with `reason` (once) without ending the run: the soft time limit. The
   * task may catch the reason and return normally.
   */
  interrupt(reason: unknown): void {
    if (this.#interrupted || this.#aborted) return;
    this.#interrupted = true;
    this.#interruptReason = reason;
    this.#controller?.abort(reason);
  }

  /** Calls `listener` when the job is aborted (at once if it was); returns a function that removes it. */
  whenAborted(listener: () => void): () => void {
    if (this.#aborted) {
      listener();
      return () => {};
    }
    if (!this.#onAbort) {
      this.#onAbort = listener;
    } else {
      this.#moreOnAbort ??= [];
      this.#moreOnAbort.push(listener);
    }
    return () => {
      if (this.#onAbort === listener) this.#onAbort = undefined;
      const index = this.#moreOnAbort?.indexOf(listener) ?? -1;
      if (index !== -1) this.#moreOnAbort?.splice(index, 1);
    };
  }

  /** The queue it was consumed from. */
  get queue(): string {
    return this.delivery.queue;
  }

  /** How the delivery was settled so far, or null. */
  get settlement(): Settlement | null {
    return this.#settlement;
  }

  /**
   * Settles the delivery unless it already was. Resolves to false when it already was or the broker
   * refused; a refusal is logged, and the broker will hand the message out again.
   */
  async settle(how: Settlement): Promise<boolean> {
    if (this.#settlement !== null) return false;
    this.#settlement = how;
    try {
      await this.delivery[how]();
      return true;
    } catch (error) {
      this.#logger.error(`could not ${how} a message`, { ...this.attributes(), error });
      return false;
    }
  }

  /** Log attributes naming the task. */
  attributes(): LogAttributes {
    return { "tq.task_id": this.message.id, "tq.task_name": this.message.task, "tq.queue": this.queue };
  }

  /** The common part of task events. */
  info(): TaskEventInfo {
    const { id, task, retries } = this.message;
    return { taskId: id, taskName: task, queue: this.queue, retries };
  }
}
