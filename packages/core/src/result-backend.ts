import type { TaskStateName } from "./states.js";

/**
 * A task's result document, exactly as Celery stores it (`celery-task-meta-<id>`): field names are
 * Celery's, so Python clients read what tq workers write and the other way round.
 */
export interface TaskMeta {
  /** Task id. */
  task_id: string;
  /** State name. */
  status: TaskStateName;
  /** Return value; for FAILURE/RETRY/REVOKED an {@link ExceptionInfo}; for STARTED `{pid, hostname}`. */
  result: unknown;
  /** Formatted stack of a failure, else null. */
  traceback: string | null;
  /** Results of tasks this one started, in Celery's result-tuple format. */
  children: unknown[];
  /** When it became ready, ISO 8601 UTC; null while not ready. */
  date_done: string | null;
  /** Group id, when the task is a group member. */
  group_id?: string | null;
  /** Parent task id, when another task sent it. */
  parent_id?: string | null;
  /** Extended fields (Celery's `result_extended`). */
  name?: string | null;
  args?: unknown[] | null;
  kwargs?: Record<string, unknown> | null;
  worker?: string | null;
  retries?: number | null;
  queue?: string | null;
  /** Other fields written by Celery versions (stamps) are kept. */
  [key: string]: unknown;
}

/** How an exception is stored in a result document (JSON serializers), as Celery stores it. */
export interface ExceptionInfo {
  /** Exception class name, e.g. `ValueError`. */
  exc_type: string;
  /** The exception's args; tq stores `[message]`. */
  exc_message: unknown[] | string;
  /** A module a Python client can import, e.g. `builtins`; null lets Celery make a class up. */
  exc_module: string | null;
}

/** Options of {@link ResultBackend.store}. */
export interface StoreResultOptions {
  /** Overrides the backend's expiry for this document, in ms; null keeps it forever. */
  expiresMs?: number | null;
  /**
   * The task message's `reply_to`: where a backend that sends results back to the caller (`rpc://`)
   * sends this one. Stores ignore it.
   */
  replyTo?: string;
  /** The task message's `correlation_id`, which a reply carries. @default meta.task_id */
  correlationId?: string;
}

/** Options of {@link ResultBackend.waitFor}. */
export interface WaitForResultOptions {
  /** Reject with a `TQ_TIMEOUT` error after this many ms. @default wait forever */
  timeoutMs?: number;
  /** Abort the wait (rejects with a `TQ_ABORTED` error). */
  signal?: AbortSignal;
}

/** One finished member of a chord header. */
export interface ChordPart {
  /** Position in the header (`group_index`). */
  index: number;
  /** The member's task id. */
  taskId: string;
  /** Its final state. */
  status: TaskStateName;
  /** Its result (or exception info). */
  result: unknown;
}

/** What {@link ResultBackend.addChordPart} reports. */
export interface ChordProgress {
  /** True exactly once: for the call that completed the header. */
  complete: boolean;
  /** How many parts have arrived. */
  received: number;
  /** When complete, every part in header order. */
  parts: ChordPart[];
}

/**
 * Stores task states and results. Implementations keep Celery's document layout where Celery has one
 * for the same store, so that Celery clients and workers can share it.
 *
 * Rules: a SUCCESS document is never overwritten; documents expire after the backend's expiry
 * (Celery's `result_expires`, default one day); `waitFor` is notified, not polled, where the store can.
 */
export interface ResultBackend {
  /**
   * The queue this backend receives results on, for backends that send results back to the caller
   * (Celery's `rpc://`). When set, the app puts it in every message's `reply_to` and connects the
   * backend before it publishes, so the reply queue exists before any result is sent to it.
   */
  readonly replyTo?: string;
  /** Opens connections. Safe to call more than once. */
  connect(options?: { signal?: AbortSignal }): Promise<void>;
  /** Closes what the backend opened; waits in progress reject with `TQ_CLOSED`. */
  close(): Promise<void>;
  /** Stores a state document. Ignored when the stored document is already SUCCESS. */
  store(meta: TaskMeta, options?: StoreResultOptions): Promise<void>;
  /** The stored document, or null when there is none (the task is PENDING). */
  get(taskId: string): Promise<TaskMeta | null>;
  /** Resolves with the document once the task is ready (SUCCESS, FAILURE or REVOKED). */
  waitFor(taskId: string, options?: WaitForResultOptions): Promise<TaskMeta>;
  /** Deletes the document. */
  forget(taskId: string): Promise<void>;
  /** Saves a group's member ids (`celery-taskset-meta-<id>`). */
  saveGroup(groupId: string, taskIds: readonly string[]): Promise<void>;
  /** A saved group's member ids, or null. */
  getGroup(groupId: string): Promise<string[] | null>;
  /** Deletes a saved group. */
  forgetGroup(groupId: string): Promise<void>;
  /** Records how many members a chord header has, before any of them runs. */
  setChordSize(groupId: string, size: number): Promise<void>;
  /**
   * Records one finished header member, atomically: of concurrent calls, exactly one sees `complete`.
   */
  addChordPart(groupId: string, part: ChordPart): Promise<ChordProgress>;
  /** Removes a chord's counters once its body was sent. */
  clearChord(groupId: string): Promise<void>;
}
