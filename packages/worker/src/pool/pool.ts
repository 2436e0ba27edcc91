import type { TaskRequest } from "@tq/core";
import type { Job } from "../job.js";
import type { TaskOutcome } from "../run-task.js";

/**
 * Where tasks run (Celery's `-P` / `worker_pool`): `async` in the worker's event loop, `solo` the
 * same with one task at a time, `threads` in worker threads, `processes` in child processes.
 */
export type PoolName = "async" | "threads" | "processes" | "solo";

/** The pool names, in the order the docs list them. */
export const POOL_NAMES: readonly PoolName[] = ["async", "solo", "threads", "processes"];

/** Per-run settings a pool needs beyond the job and its request. */
export interface PoolRunOptions {
  /**
   * The soft time limit in seconds, for pools whose tasks run elsewhere (a child arms its own timer);
   * null for none. Pools whose tasks run here never get one: the worker aborts the signal itself.
   */
  softTimeLimit: number | null;
}

/** What {@link Pool.stats} reports, as Celery's `inspect stats` reports its `pool`. */
export interface PoolStats {
  /** The pool's name. Celery: `pool.implementation`. */
  implementation: PoolName;
  /** The most tasks run at once (the autoscale maximum). Celery: `pool.max-concurrency`. */
  maxConcurrency: number;
  /** Tasks that may run at once now: `maxConcurrency`, or less while autoscale keeps the pool small. */
  concurrency: number;
  /**
   * Ids of the children alive now: process ids (`processes`) or thread ids (`threads`); empty for
   * `async` and `solo`. Celery: `pool.processes`.
   */
  processes: number[];
  /** Children running a task now. */
  busy: number;
  /** Children replaced so far: recycled (max tasks or memory), killed (time limit, terminate) or lost. */
  replaced: number;
}

/** The part of {@link PoolStats} a pool knows (the worker adds its concurrency). */
export type PoolState = Omit<PoolStats, "maxConcurrency" | "concurrency">;

/**
 * Runs tasks for the worker. The worker's scheduler decides how many run at once; a pool runs each
 * job it is given at once (spawning a child if none is idle) and never queues.
 */
export interface Pool {
  /** Which pool this is. */
  readonly name: PoolName;
  /**
   * True when tasks run in the worker's own thread (`async`, `solo`): their soft limit is then armed
   * by the worker, and a hard limit cannot stop one that never yields.
   */
  readonly inline: boolean;
  /** Starts what the pool needs up front (children, for `threads` and `processes`); rejects if it cannot. */
  start(): Promise<void>;
  /**
   * Runs the job's task. Resolves with how it ended; never rejects. When the job is aborted while it
   * runs, a pool with children kills the one running it (the worker reads the outcome from the abort
   * reason, see runTask).
   */
  run(job: Job, request: TaskRequest, options: PoolRunOptions): Promise<TaskOutcome>;
  /** Sets how many children to keep (autoscale); extra idle ones are stopped. No effect without children. */
  resize(size: number): void;
  /** Stops every child, once the tasks running in them ended; resolves when they all exited. */
  close(): Promise<void>;
  /** What the pool holds now. */
  stats(): PoolState;
}
