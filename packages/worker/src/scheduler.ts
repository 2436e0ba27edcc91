import type { Job } from "./job.js";
import { setLongTimeout } from "./timers.js";

/**
 * Runs at most `concurrency` jobs at once. Prefetched jobs wait in a local FIFO; jobs whose ETA is in
 * the future are held aside on a timer and take no slot until they are due.
 */
export class Scheduler {
  readonly #concurrency: number;
  readonly #run: (job: Job) => Promise<void>;
  readonly #onUnexpected: (error: unknown, job: Job) => void;
  readonly #waiting: Job[] = [];
  readonly #held = new Map<Job, () => void>();
  readonly #running = new Set<Job>();
  #heldPeak = 0;
  #idleWaiters: (() => void)[] = [];
  #paused = false;

  /**
   * @param run runs one job to its end; it is expected never to reject.
   * @param onUnexpected called if `run` rejects anyway.
   */
  constructor(
    concurrency: number,
    run: (job: Job) => Promise<void>,
    onUnexpected: (error: unknown, job: Job) => void,
  ) {
    this.#concurrency = concurrency;
    this.#run = run;
    this.#onUnexpected = onUnexpected;
  }

  /** Jobs holding a slot now. */
  get running(): ReadonlySet<Job> {
    return this.#running;
  }

  /** Jobs waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Jobs held until their ETA. */
  get held(): number {
    return this.#held.size;
  }

  /** The most jobs held at once so far. */
  get heldPeak(): number {
    return this.#heldPeak;
  }

  /** Queues a job, or holds it until its ETA when that is in the future. */
  add(job: Job): void {
    const delayMs = (job.message.eta?.getTime() ?? 0) - Date.now();
    if (delayMs <= 0) {
      this.#enqueue(job);
      return;
    }
    job.stage = "held";
    this.#held.set(
      job,
      setLongTimeout(() => {
        this.#held.delete(job);
        this.#enqueue(job);
      }, delayMs),
    );
    this.#heldPeak = Math.max(this.#heldPeak, this.#held.size);
  }

  /** Stops starting jobs and hands back every job not started yet (waiting or held). */
  takePending(): Job[] {
    this.#paused = true;
    for (const cancel of this.#held.values()) cancel();
    const pending = [...this.#waiting.splice(0), ...this.#held.keys()];
    this.#held.clear();
    return pending;
  }

  /** Resolves once no job is running. */
  whenIdle(): Promise<void> {
    if (this.#running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #enqueue(job: Job): void {
    job.stage = "waiting";
    this.#waiting.push(job);
    this.#pump();
  }

  #pump(): void {
    while (!this.#paused && this.#running.size < this.#concurrency) {
      const job = this.#waiting.shift();
      if (!job) return;
      job.stage = "running";
      this.#running.add(job);
      this.#run(job)
        .catch((error: unknown) => this.#onUnexpected(error, job))
        .finally(() => this.#finished(job));
    }
  }

  #finished(job: Job): void {
    job.stage = "done";
    this.#running.delete(job);
    this.#pump();
    if (this.#running.size === 0) {
      for (const resolve of this.#idleWaiters.splice(0)) resolve();
    }
  }
}
