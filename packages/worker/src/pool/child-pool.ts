import { type Logger, type TaskRequest, TimeLimitExceeded, TqError, WorkerLostError } from "@tq/core";
import { errorText } from "../error-text.js";
import type { Job } from "../job.js";
import { abortOutcome, type TaskOutcome } from "../run-task.js";
import type { ChildSetupData, InitMessage, WireResult } from "./child-messages.js";
import { type ChildExit, spawnProcess, spawnThread } from "./child-transport.js";
import type { Pool, PoolRunOptions, PoolState } from "./pool.js";
import { describeExit, PoolChild, type SpawnChild } from "./pool-child.js";
import { decodeError } from "./wire-error.js";

/** Settings of a {@link ChildPool}. */
export interface ChildPoolOptions {
  /** `threads` (worker_threads) or `processes` (child processes). */
  name: "threads" | "processes";
  /** Children started up front and kept (the autoscale minimum). */
  size: number;
  /** The app module each child loads (a file URL). */
  appModule: string;
  /** What each child does before it loads the app module. */
  setup: ChildSetupData;
  /** Tasks a child runs before it is replaced; null for no limit. */
  maxTasksPerChild: number | null;
  /** Memory (KiB) past which a child is replaced after its task; null for no limit. */
  maxMemoryPerChild: number | null;
  /** Where the pool logs. */
  logger: Logger;
  /** How long a child may take to close its app before it is killed, ms. @default 10_000 */
  closeGraceMs?: number;
}

/**
 * The `threads` and `processes` pools: children that load the app module and run one task at a time,
 * as Celery's prefork pool does. A child is killed when its task's run is aborted (hard time limit,
 * revoke with terminate, shutdown deadline), replaced after `maxTasksPerChild` tasks or past
 * `maxMemoryPerChild`, and replaced when it dies on its own, its task then ending as `worker-lost`.
 */
export class ChildPool implements Pool {
  readonly name: "threads" | "processes";
  readonly inline = false;
  readonly #options: ChildPoolOptions;
  readonly #spawn: SpawnChild;
  readonly #init: InitMessage;
  // Children that are neither stopping nor dead; `#spare` are those among them free for a task
  // (loaded or still loading).
  readonly #children = new Set<PoolChild>();
  #spare: PoolChild[] = [];
  readonly #leaving = new Set<PoolChild>();
  #target: number;
  #nextId = 1;
  #jobNumber = 0;
  #replaced = 0;
  #closed = false;

  constructor(options: ChildPoolOptions) {
    this.#options = options;
    this.name = options.name;
    this.#target = options.size;
    this.#spawn = options.name === "threads" ? spawnThread : spawnProcess;
    this.#init = {
      type: "init",
      appModule: options.appModule,
      setup: options.setup,
      memory: options.name === "processes" ? "rss" : "heap",
    };
  }

  async start(): Promise<void> {
    const started = Array.from({ length: this.#target }, () => this.#addSpare());
    try {
      await Promise.all(started.map((child) => child.ready));
    } catch (error) {
      throw TqError.is(error)
        ? error
        : new TqError("TQ_POOL", `the ${this.name} pool could not start its children: ${String(error)}`, {
            component: "pool",
            cause: error,
          });
    }
  }

  async run(job: Job, request: TaskRequest, options: PoolRunOptions): Promise<TaskOutcome> {
    let child: PoolChild;
    try {
      child = await this.#acquire();
    } catch (error) {
      return { kind: "error", error };
    }
    if (job.aborted) {
      this.#release(child);
      return abortOutcome(job.abortReason);
    }
    const jobNumber = this.#jobNumber++;
    const stopListening = job.whenAborted(() => this.#killFor(job, child));
    const { delivery } = job;
    const end = await child.run({
      type: "run",
      jobNumber,
      message: job.message,
      delivery: {
        queue: delivery.queue,
        redelivered: delivery.redelivered,
        exchange: delivery.exchange,
        routingKey: delivery.routingKey,
      },
      hostname: request.hostname,
      softTimeLimit: options.softTimeLimit,
    });
    stopListening();
    if (end.kind === "done") {
      this.#release(child);
      return outcomeOf(end.done.result);
    }
    this.#forget(child);
    // Killed on purpose: the run's outcome is the abort's.
    if (child.stopping) return abortOutcome(job.abortReason);
    const status = describeExit(end.exit);
    this.#options.logger.error(`${this.#label(child)} exited with '${status}'`, {
      ...job.attributes(),
      "tq.pool": this.name,
      "tq.pid": child.pid,
      ...(end.exit.error ? { error: end.exit.error } : {}),
    });
    return {
      kind: "worker-lost",
      error: new WorkerLostError(`Worker exited prematurely: ${status} Job: ${jobNumber}.`),
    };
  }

  resize(size: number): void {
    this.#target = size;
    while (this.#children.size > this.#target && this.#spare.length > 0) {
      const child = this.#spare.pop()!;
      this.#retire(child);
    }
    this.#replenish();
  }

  async close(): Promise<void> {
    this.#closed = true;
    const grace = this.#options.closeGraceMs ?? 10_000;
    for (const child of [...this.#children]) this.#retire(child, grace);
    await Promise.all([...this.#leaving].map((child) => child.exited));
  }

  stats(): PoolState {
    const children = [...this.#children];
    return {
      implementation: this.name,
      processes: children.map((child) => (this.name === "threads" ? child.threadId : child.pid)),
      busy: children.filter((child) => child.busy).length,
      replaced: this.#replaced,
    };
  }

  // As Celery names its children in logs: "pool process pid:123", "pool thread 4".
  #label(child: PoolChild): string {
    return this.name === "threads" ? `pool thread ${child.threadId}` : `pool process pid:${child.pid}`;
  }

  // A spare child (loading or loaded), else a new one. A spare that died or failed to load is
  // replaced by one new child; if that fails too, the task fails with its error.
  async #acquire(): Promise<PoolChild> {
    let child = this.#spare.shift() ?? this.#add();
    try {
      await child.ready;
      if (!child.dead) return child;
    } catch {
      this.#forget(child);
    }
    child = this.#add();
    await child.ready;
    return child;
  }

  // After a task: the child is recycled past its limits, stopped when the pool shrank, else spare.
  #release(child: PoolChild): void {
    if (child.dead || child.stopping) return;
    const { maxTasksPerChild, maxMemoryPerChild, logger } = this.#options;
    if (maxTasksPerChild !== null && child.tasksRun >= maxTasksPerChild) {
      logger.debug(`${this.#label(child)} ran ${child.tasksRun} tasks; replacing it`, {
        "tq.pool": this.name,
      });
      this.#recycle(child);
    } else if (maxMemoryPerChild !== null && child.memoryKiB > maxMemoryPerChild) {
      logger.warn(
        `${this.#label(child)} exceeds its memory limit (${child.memoryKiB} KiB / ${maxMemoryPerChild} KiB); replacing it`,
        { "tq.pool": this.name },
      );
      this.#recycle(child);
    } else if (this.#children.size > this.#target || this.#closed) {
      this.#retire(child);
    } else {
      this.#spare.push(child);
    }
  }

  #recycle(child: PoolChild): void {
    this.#replaced += 1;
    this.#retire(child);
    this.#replenish();
  }

  #killFor(job: Job, child: PoolChild): void {
    const reason = job.abortReason;
    const { task, id } = job.message;
    const attributes = { ...job.attributes(), "tq.pool": this.name, "tq.pid": child.pid };
    if (reason instanceof TimeLimitExceeded) {
      // Celery's line, then the kill.
      this.#options.logger.error(
        `hard time limit (${reason.seconds}s) exceeded for ${task}[${id}]; killing ${this.#label(child)}`,
        attributes,
      );
    } else {
      const why = reason instanceof Error ? errorText(reason) : String(reason);
      this.#options.logger.warn(`killing ${this.#label(child)} running ${task}[${id}]: ${why}`, attributes);
    }
    this.#replaced += 1;
    child.kill();
  }

  #retire(child: PoolChild, graceMs = this.#options.closeGraceMs ?? 10_000): void {
    this.#children.delete(child);
    this.#spare = this.#spare.filter((spare) => spare !== child);
    this.#leaving.add(child);
    void child.stop(graceMs).finally(() => this.#leaving.delete(child));
  }

  #forget(child: PoolChild): void {
    this.#children.delete(child);
    this.#spare = this.#spare.filter((spare) => spare !== child);
  }

  #replenish(): void {
    while (!this.#closed && this.#children.size < this.#target) this.#addSpare();
  }

  // Every exit ends here, after the run that was waiting on the child (if any) was settled.
  #onExit(child: PoolChild, exit: ChildExit): void {
    this.#forget(child);
    if (this.#closed) return;
    if (!child.stopping) {
      if (!child.loaded) {
        // Not replaced: a child that cannot load the app would be replaced forever. The next task
        // starts a new one, and fails with the reason if it cannot load the app either.
        this.#options.logger.error(`${this.#label(child)} could not load the app`, {
          "tq.pool": this.name,
          error: exit.error,
        });
        return;
      }
      if (!child.lostTask) {
        this.#options.logger.warn(
          `idle ${this.#label(child)} exited with '${describeExit(exit)}'; replacing it`,
          { "tq.pool": this.name },
        );
      }
      this.#replaced += 1;
    }
    this.#replenish();
  }

  #addSpare(): PoolChild {
    const child = this.#add();
    this.#spare.push(child);
    return child;
  }

  #add(): PoolChild {
    const child = new PoolChild(this.#nextId++, this.#spawn, this.#init);
    this.#children.add(child);
    void child.exited.then((exit) => this.#onExit(child, exit));
    return child;
  }
}

function outcomeOf(result: WireResult): TaskOutcome {
  return result.kind === "success"
    ? { kind: "success", value: result.value }
    : { kind: "error", error: decodeError(result.error) };
}
