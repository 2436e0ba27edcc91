import type { Job } from "./job.js";
import { RateLimiter, type RateLimiterOptions } from "./rate-limiter.js";
import { setLongTimeout } from "./timers.js";

/**
 * Runs at most `concurrency` jobs at once. Prefetched jobs wait in a local FIFO; jobs whose ETA is in
 * the future are held aside on a timer and take no slot until they are due.
 */
export class Scheduler {
  #concurrency: number;
  readonly #run: (job: Job) => Promise<void>;
  readonly #onUnexpected: (error: unknown, job: Job) => void;
  readonly #waiting: Job[] = [];
  readonly #held = new Map<Job, () => void>();
  readonly #running = new Set<Job>();
  readonly #limiter: RateLimiter<Job> | undefined;
  #heldPeak = 0;
  #completed = 0;
  #idleWaiters: (() => void)[] = [];
  #paused = false;

  /**
   * @param run runs one job to its end; it is expected never to reject.
   * @param onUnexpected called if `run` rejects anyway.
   * @param rateLimits per task name, due jobs wait for a token of their task's rate limit before they
   *   wait for a slot (Celery's `task_buckets`); none when rate limits are disabled.
   */
  constructor(
    concurrency: number,
    run: (job: Job) => Promise<void>,
    onUnexpected: (error: unknown, job: Job) => void,
    rateLimits?: Omit<RateLimiterOptions<Job>, "release">,
  ) {
    this.#concurrency = concurrency;
    this.#run = run;
    this.#onUnexpected = onUnexpected;
    this.#limiter = rateLimits && new RateLimiter({ ...rateLimits, release: (job) => this.#enqueue(job) });
  }

  /** How many jobs may run at once now. */
  get concurrency(): number {
    return this.#concurrency;
  }

  /**
   * Changes how many jobs may run at once (autoscale). Waiting jobs start at once when it grows;
   * running ones are never stopped when it shrinks, the next jobs just wait for it.
   */
  resize(concurrency: number): void {
    this.#concurrency = concurrency;
    this.#pump();
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

  /** Jobs that ran to their end so far. */
  get completed(): number {
    return this.#completed;
  }

  /** The most jobs held at once so far. */
  get heldPeak(): number {
    return this.#heldPeak;
  }

  /** Jobs due but waiting for a token of their task's rate limit (they take no slot). */
  get rateLimited(): number {
    return this.#limiter?.waiting ?? 0;
  }

  /**
   * Changes a task's rate limit (tasks per second, 0 for none), for its jobs already waiting too. No
   * effect when rate limits are disabled.
   */
  setRateLimit(taskName: string, perSecond: number): void {
    this.#limiter?.setRate(taskName, perSecond);
  }

  /**
   * Queues a job, or holds it until its ETA when that is in the future; a due job of a rate-limited
   * task first waits for a token (after its ETA, as Celery's `_limit_post_eta`).
   */
  add(job: Job): void {
    const delayMs = (job.message.eta?.getTime() ?? 0) - Date.now();
    if (delayMs <= 0) {
      this.#admit(job);
      return;
    }
    job.stage = "held";
    this.#held.set(
      job,
      setLongTimeout(() => {
        this.#held.delete(job);
        this.#admit(job);
      }, delayMs),
    );
    this.#heldPeak = Math.max(this.#heldPeak, this.#held.size);
  }

  /** Stops starting jobs and hands back every job not started yet (waiting, held or rate-limited). */
  takePending(): Job[] {
    this.#paused = true;
    for (const cancel of this.#held.values()) cancel();
    const rateLimited = this.#limiter?.takePending() ?? [];
    const pending = [...this.#waiting.splice(0), ...rateLimited, ...this.#held.keys()];
    this.#held.clear();
    return pending;
  }

  /**
   * Removes and returns the waiting, ETA-held and rate-limited jobs `match` picks (revoked ones), so
   * that they free their prefetch slots at once.
   */
  takeMatching(match: (job: Job) => boolean): Job[] {
    const taken: Job[] = this.#limiter?.takeMatching(match) ?? [];
    for (const [job, cancel] of this.#held) {
      if (!match(job)) continue;
      cancel();
      this.#held.delete(job);
      taken.push(job);
    }
    for (let index = this.#waiting.length - 1; index >= 0; index--) {
      const job = this.#waiting[index] as Job;
      if (!match(job)) continue;
      this.#waiting.splice(index, 1);
      taken.push(job);
    }
    return taken;
  }

  /** Resolves once no job is running. */
  whenIdle(): Promise<void> {
    if (this.#running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #admit(job: Job): void {
    if (!this.#limiter) {
      this.#enqueue(job);
      return;
    }
    // Rate-limited jobs are reserved and unacked like ETA-held ones, and take no slot while they wait.
    job.stage = "held";
    this.#limiter.admit(job.task.name, job);
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
    this.#completed += 1;
    this.#running.delete(job);
    this.#pump();
    if (this.#running.size === 0) {
      for (const resolve of this.#idleWaiters.splice(0)) resolve();
    }
  }
}
