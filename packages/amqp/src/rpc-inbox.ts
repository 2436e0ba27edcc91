import { isReadyState, type Logger, type TaskMeta, type TqError, type WaitForResultOptions } from "@tq/core";
import { abortedError, rpcError } from "./rpc-errors.js";

interface Entry {
  readonly meta: TaskMeta;
  readonly receivedAt: number;
}

interface Waiter {
  resolve(meta: TaskMeta): void;
  fail(error: TqError): void;
}

/** Options of {@link ReplyInbox}. */
export interface ReplyInboxOptions {
  /** The most task states kept; the least recently used go first. */
  maxEntries: number;
  /** How long a received state is kept, in ms; null for no limit. */
  maxAgeMs: number | null;
  logger: Logger;
}

/**
 * The states that arrived on the reply queue, latest per task id, and the waits on them: what
 * Celery's rpc backend keeps in its result cache and its buffer of "out of band" states.
 *
 * Only the latest state of a task matters (Celery acks the older ones away), except that a SUCCESS
 * is never replaced, the rule every tq backend follows. A state that arrives before anyone waits is
 * kept for a later `get`/`waitFor`. The map is bounded: past `maxEntries` the least recently used
 * task is dropped, and a state older than `maxAgeMs` reads as absent (PENDING), as a stored result
 * past its expiry does. Values are copied on the way out, so callers never share an object.
 */
export class ReplyInbox {
  readonly #options: ReplyInboxOptions;
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  readonly #entries = new Map<string, Entry>();
  readonly #waiters = new Map<string, Set<Waiter>>();

  constructor(options: ReplyInboxOptions) {
    this.#options = options;
  }

  /** How many states are held (for tests and metrics). */
  get size(): number {
    return this.#entries.size;
  }

  /** Records a state that arrived; wakes the task's waiters when it is ready. */
  deliver(meta: TaskMeta): void {
    const taskId = meta.task_id;
    const current = this.#live(taskId);
    if (current?.meta.status === "SUCCESS" && meta.status !== "SUCCESS") {
      this.#options.logger.debug("kept the SUCCESS result, ignored a later state", {
        "tq.task_id": taskId,
        "tq.state": meta.status,
      });
      return;
    }
    this.#entries.delete(taskId);
    this.#entries.set(taskId, { meta, receivedAt: Date.now() });
    for (const key of this.#entries.keys()) {
      if (this.#entries.size <= this.#options.maxEntries) break;
      this.#entries.delete(key);
    }
    if (!isReadyState(meta.status)) return;
    for (const waiter of [...(this.#waiters.get(taskId) ?? [])]) waiter.resolve(structuredClone(meta));
  }

  /** A copy of the latest state of a task, or null when none arrived (or it was dropped). */
  latest(taskId: string): TaskMeta | null {
    const entry = this.#live(taskId);
    if (!entry) return null;
    this.#entries.delete(taskId);
    this.#entries.set(taskId, entry);
    return structuredClone(entry.meta);
  }

  /** Resolves with a copy of the task's state once it is ready, at once if it already arrived. */
  wait(taskId: string, options: WaitForResultOptions = {}): Promise<TaskMeta> {
    const { timeoutMs, signal } = options;
    if (timeoutMs !== undefined && !(timeoutMs >= 0)) {
      return Promise.reject(rpcError("TQ_CONFIG", `timeoutMs must be ≥ 0, got ${timeoutMs}`));
    }
    if (signal?.aborted) return Promise.reject(abortedError(signal, "the wait for a result"));
    const ready = this.latest(taskId);
    if (ready && isReadyState(ready.status)) return Promise.resolve(ready);
    return new Promise<TaskMeta>((resolve, reject) => {
      let waiters = this.#waiters.get(taskId);
      if (!waiters) {
        waiters = new Set();
        this.#waiters.set(taskId, waiters);
      }
      const joined = waiters;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const leave = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        joined.delete(waiter);
        if (joined.size === 0 && this.#waiters.get(taskId) === joined) this.#waiters.delete(taskId);
      };
      const waiter: Waiter = {
        resolve: (meta) => {
          leave();
          resolve(meta);
        },
        fail: (error) => {
          leave();
          reject(error);
        },
      };
      const onAbort = (): void => waiter.fail(abortedError(signal as AbortSignal, "the wait for a result"));
      if (timeoutMs !== undefined) {
        // Not unref'd: a caller waiting for a result keeps the process alive, as a socket read would.
        timer = setTimeout(
          () => waiter.fail(rpcError("TQ_TIMEOUT", `no result for task ${taskId} within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      joined.add(waiter);
    });
  }

  /** Drops the state of a task (waits on it go on). */
  forget(taskId: string): void {
    this.#entries.delete(taskId);
  }

  /** Rejects every wait in progress with `error`. */
  failAll(error: TqError): void {
    for (const waiters of [...this.#waiters.values()]) {
      for (const waiter of [...waiters]) waiter.fail(error);
    }
  }

  #live(taskId: string): Entry | undefined {
    const entry = this.#entries.get(taskId);
    if (!entry) return undefined;
    const { maxAgeMs } = this.#options;
    if (maxAgeMs !== null && Date.now() - entry.receivedAt >= maxAgeMs) {
      this.#entries.delete(taskId);
      return undefined;
    }
    return entry;
  }
}
