import type { TaskRequest } from "@tq/core";
import { invokeTask } from "../invoke-task.js";
import type { Job } from "../job.js";
import type { TaskOutcome } from "../run-task.js";
import type { Pool, PoolState } from "./pool.js";

/**
 * Runs tasks in the worker's event loop: `async` (many at once, best for I/O-bound tasks) and `solo`
 * (one at a time). Nothing to start or stop. A task that never yields blocks the whole worker, and
 * its hard time limit can only abort its signal: use `threads` or `processes` for CPU-bound tasks.
 */
export class AsyncPool implements Pool {
  readonly name: "async" | "solo";
  readonly inline = true;

  constructor(name: "async" | "solo") {
    this.name = name;
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  run(job: Job, request: TaskRequest): Promise<TaskOutcome> {
    return invokeTask(job.task, request).then(
      (value): TaskOutcome => ({ kind: "success", value }),
      (error: unknown): TaskOutcome => ({ kind: "error", error }),
    );
  }

  resize(): void {}

  close(): Promise<void> {
    return Promise.resolve();
  }

  stats(): PoolState {
    return { implementation: this.name, processes: [], busy: 0, replaced: 0 };
  }
}
