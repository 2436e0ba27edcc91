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
  /** Aborted on the hard time limit or at the shutdown deadline; the task sees it as `request.signal`. */
  readonly controller = new AbortController();
  /** Where the job is now. */
  stage: JobStage = "waiting";
  #settlement: Settlement | null = null;
  readonly #logger: Logger;

  constructor(delivery: Delivery, message: TaskMessage, task: Task, acksLate: boolean, logger: Logger) {
    this.delivery = delivery;
    this.message = message;
    this.task = task;
    this.acksLate = acksLate;
    this.#logger = logger;
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
