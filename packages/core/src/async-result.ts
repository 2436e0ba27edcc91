import type { ResultHandle } from "./canvas/types.js";
import { TqError } from "./errors.js";
import { exceptionInfoToError } from "./exception-info.js";
import type { ResultBackend, TaskMeta } from "./result-backend.js";
import { EXCEPTION_STATES, isReadyState, type TaskStateName } from "./states.js";

/** Where an {@link AsyncResult} reads from: the app, in practice. */
export interface ResultSource {
  /** The result backend; rejects with `TQ_CONFIG` when the app has none. */
  getBackend(): Promise<ResultBackend>;
}

/** Options of {@link AsyncResult.get}. */
export interface GetResultOptions {
  /** Give up after this many seconds (Celery's unit), rejecting with `TQ_TIMEOUT`. */
  timeout?: number;
  /** Give up after this many milliseconds; wins over `timeout`. */
  timeoutMs?: number;
  /** Abort the wait. */
  signal?: AbortSignal;
  /** Throw the task's failure (the default) or return the stored exception info. @default true */
  propagate?: boolean;
}

/**
 * A handle on a task's outcome: Celery's `AsyncResult`. `R` is the task's return type, so
 * `await add.delay(2, 3).get()` is a `number`.
 */
export class AsyncResult<R = unknown> {
  /** Task id. */
  readonly id: string;
  /** Resolves to this result once the message was published; rejects if publishing failed. */
  readonly sent: Promise<AsyncResult<R>>;
  /**
   * The result of the step before, when the task is a step of a chain (Celery's `result.parent`):
   * `chain(a, b, c).applyAsync()` returns c's result, whose parent is b's, whose parent is a's.
   */
  parent: ResultHandle | null = null;
  readonly #source: ResultSource;

  constructor(id: string, source: ResultSource, published: Promise<void> = Promise.resolve()) {
    this.id = id;
    this.#source = source;
    this.sent = published.then(() => this);
    // The failure is delivered by `sent` and by every method below; this only keeps Node from
    // treating a result nobody looked at yet as an unhandled rejection that kills the process.
    this.sent.catch(() => {});
  }

  /** The stored document, or null while the task is PENDING (or its result expired). */
  async meta(): Promise<TaskMeta | null> {
    await this.sent;
    return (await this.#source.getBackend()).get(this.id);
  }

  /** Current state name (PENDING when nothing is stored). */
  async state(): Promise<TaskStateName> {
    return (await this.meta())?.status ?? "PENDING";
  }

  /**
   * What the stored document holds now, without waiting: Celery's `AsyncResult.info` (`.result`).
   * The `meta` of the task's last `updateState(...)` while it runs (e.g. PROGRESS
   * `{ current, total }`), its value once it succeeded, the error (a `TaskFailedError` or
   * `TaskRevokedError`, not thrown) in FAILURE, RETRY and REVOKED, and null while PENDING.
   */
  async info(): Promise<unknown> {
    const meta = await this.meta();
    if (!meta) return null;
    if (EXCEPTION_STATES.has(meta.status)) {
      return exceptionInfoToError(meta.result, meta.traceback, this.id, meta.status);
    }
    return meta.result;
  }

  /** True once the task succeeded, failed or was revoked. */
  async ready(): Promise<boolean> {
    return isReadyState(await this.state());
  }

  /** True when the task succeeded. */
  async successful(): Promise<boolean> {
    return (await this.state()) === "SUCCESS";
  }

  /** True when the task failed. */
  async failed(): Promise<boolean> {
    return (await this.state()) === "FAILURE";
  }

  /**
   * Waits for the task and returns its value. A failed task rejects with a `TaskFailedError`
   * (code `TQ_TASK_FAILED`, with the stored exception type, message and traceback), a revoked one
   * with code `TQ_TASK_REVOKED`, a wait past the timeout with `TQ_TIMEOUT`.
   */
  async get(options: GetResultOptions = {}): Promise<R> {
    await this.sent;
    const backend = await this.#source.getBackend();
    const timeoutMs =
      options.timeoutMs ?? (options.timeout === undefined ? undefined : options.timeout * 1000);
    const meta = await backend.waitFor(this.id, {
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (meta.status === "SUCCESS" || options.propagate === false) return meta.result as R;
    throw exceptionInfoToError(meta.result, meta.traceback, this.id, meta.status);
  }

  /** Deletes the stored result. */
  async forget(): Promise<void> {
    await this.sent;
    await (await this.#source.getBackend()).forget(this.id);
  }

  /** JSON form: the id, like Celery's result serialization. */
  toJSON(): { id: string } {
    return { id: this.id };
  }
}

/** Thrown when a result is asked of an app without a result backend. */
export function noBackendError(): TqError {
  return new TqError(
    "TQ_CONFIG",
    "this app has no result backend: set resultBackend (or TQ_RESULT_BACKEND) to read task results",
  );
}
