import type { Logger, TaskMeta, WaitForResultOptions } from "@tq/core";
import { READY_STATES, TqError } from "@tq/core";
import { COMPONENT } from "./errors.js";
import { BackoffSleeper, type ChangeWatcher, onLocal } from "./wakeups.js";

interface Waiter {
  readonly taskId: string;
  resolve(meta: TaskMeta): void;
  reject(error: TqError): void;
}

/** What the waiters need from their backend. */
export interface ResultWaitersContext {
  /**
   * Reads the ready documents among these task ids (one query for all waits); documents that cannot be
   * decoded come back as errors, which end their waits.
   */
  readReady(taskIds: readonly string[]): Promise<{ ready: TaskMeta[]; failed: [string, TqError][] }>;
  readonly watcher: ChangeWatcher;
  readonly localKey: string;
  readonly pollIntervalMs: number;
  readonly maxPollIntervalMs: number;
  readonly logger: Logger;
}

/**
 * Every `waitFor` of a backend, served by one loop: a single `find({_id: {$in: [...]}, status: ready})`
 * per round for all waiting ids, then a sleep with back-off (5 ms doubling to 1 s by default). A new
 * wait reads at once and starts the back-off over, as does a round that found results: a task that
 * takes milliseconds is seen milliseconds after it ends, and a long one costs a read a second. A
 * change-stream event for a ready document (replica sets) or a store by a backend of this process
 * cuts the sleep short, so waits end within milliseconds there, and within the poll interval elsewhere.
 */
export class ResultWaiters {
  readonly #context: ResultWaitersContext;
  readonly #waiters = new Map<string, Set<Waiter>>();
  readonly #sleeper: BackoffSleeper;
  #loop: Promise<void> | undefined;
  #unsubscribes: (() => void)[] = [];
  #closed = false;

  constructor(context: ResultWaitersContext) {
    this.#context = context;
    this.#sleeper = new BackoffSleeper(context.pollIntervalMs, context.maxPollIntervalMs);
  }

  /** Resolves with the ready document of `taskId`. */
  wait(taskId: string, options: WaitForResultOptions = {}): Promise<TaskMeta> {
    const { signal, timeoutMs } = options;
    if (signal?.aborted) return Promise.reject(abortedError(taskId, signal));
    return new Promise<TaskMeta>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => finish(() => reject(abortedError(taskId, signal)));
      const finish = (settle: () => void) => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.#remove(waiter);
        settle();
      };
      const waiter: Waiter = {
        taskId,
        resolve: (meta) => finish(() => resolve(meta)),
        reject: (error) => finish(() => reject(error)),
      };
      if (timeoutMs !== undefined) {
        timer = setTimeout(
          () =>
            waiter.reject(
              new TqError("TQ_TIMEOUT", `no result for task ${taskId} within ${timeoutMs} ms`, {
                component: COMPONENT,
              }),
            ),
          timeoutMs,
        );
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      let set = this.#waiters.get(taskId);
      if (!set) {
        set = new Set();
        this.#waiters.set(taskId, set);
      }
      set.add(waiter);
      if (this.#loop) {
        // The loop's read under way, or its sleep, began before this wait: read again at once.
        this.#sleeper.wake();
      } else {
        // A new loop reads at once; its re-checks start over from the shortest interval.
        this.#sleeper.reset();
        this.#start();
      }
    });
  }

  /** Rejects every wait with `TQ_CLOSED` and stops the loop. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const set of [...this.#waiters.values()]) {
      for (const waiter of [...set]) {
        waiter.reject(
          new TqError("TQ_CLOSED", "the MongoDB result backend was closed", { component: COMPONENT }),
        );
      }
    }
    this.#sleeper.wake();
    await this.#loop;
  }

  /** Wakes the loop for a store made in this process. */
  wake(): void {
    this.#sleeper.wake();
  }

  #start(): void {
    if (this.#loop || this.#closed) return;
    const wake = () => this.#sleeper.wake();
    this.#unsubscribes = [onLocal(this.#context.localKey, wake), this.#context.watcher.subscribe(wake)];
    this.#loop = this.#run().finally(() => {
      for (const unsubscribe of this.#unsubscribes.splice(0)) unsubscribe();
      this.#loop = undefined;
      if (this.#waiters.size > 0 && !this.#closed) this.#start();
    });
  }

  async #run(): Promise<void> {
    while (!this.#closed && this.#waiters.size > 0) {
      try {
        const { ready, failed } = await this.#context.readReady([...this.#waiters.keys()]);
        for (const [taskId, error] of failed) {
          for (const waiter of [...(this.#waiters.get(taskId) ?? [])]) waiter.reject(error);
        }
        for (const meta of ready) {
          for (const waiter of [...(this.#waiters.get(meta.task_id) ?? [])]) {
            // Each waiter gets its own copy: a caller changing its result changes nobody else's.
            waiter.resolve(structuredClone(meta));
          }
        }
        if (ready.length > 0) this.#sleeper.reset();
      } catch (error) {
        this.#context.logger.warn("cannot poll MongoDB for results; retrying", { error });
      }
      if (this.#waiters.size === 0 || this.#closed) break;
      await this.#sleeper.sleep();
    }
  }

  #remove(waiter: Waiter): void {
    const set = this.#waiters.get(waiter.taskId);
    if (!set) return;
    set.delete(waiter);
    if (set.size === 0) this.#waiters.delete(waiter.taskId);
  }
}

/** The states a wait ends on. */
export const READY = [...READY_STATES];

function abortedError(taskId: string, signal: AbortSignal | undefined): TqError {
  return new TqError("TQ_ABORTED", `waiting for task ${taskId} was aborted`, {
    component: COMPONENT,
    cause: signal?.reason,
  });
}
