/**
 * What each signal of `app.signals` carries. Names and fields follow Celery's signals
 * (`celery.signals`): `beforeTaskPublish` is `before_task_publish`, `taskPrerun` is `task_prerun`, and
 * so on; Celery's `sender` (the task, or its name) is the `task`/`taskName` field here.
 */
import type { ExceptionInfo } from "./result-backend.js";
import type { TaskStateName } from "./states.js";
import type { Task } from "./task.js";
import type { TaskRequest } from "./task-request.js";

/** Arguments of `beforeTaskPublish`, Celery's `before_task_publish`: sent by the app before it publishes a task. */
export interface BeforeTaskPublishPayload {
  /** Task id. */
  readonly taskId: string;
  /** Task name (Celery's `sender`). */
  readonly taskName: string;
  /** Positional arguments, as sent. */
  readonly args: readonly unknown[];
  /** Keyword arguments, as sent. */
  readonly kwargs: Readonly<Record<string, unknown>>;
  /**
   * The message's headers, protocol ones included, as they will be sent. A handler may add or change
   * entries (a tracing id, a tenant) as Celery's handlers change `headers` in place; changing protocol
   * headers (`id`, `task`, `retries`…) makes a message the worker may not read as intended.
   */
  readonly headers: Record<string, unknown>;
  /** The message's broker properties (`correlation_id`, `reply_to`, `priority`…). */
  readonly properties: Readonly<Record<string, unknown>>;
  /** Exchange it is published to (`""`: the default exchange). */
  readonly exchange: string;
  /** Routing key it is published with (the queue name on the default exchange). */
  readonly routingKey: string;
}

/** Arguments of `afterTaskPublish`, Celery's `after_task_publish`: sent once the broker accepted the message. */
export interface AfterTaskPublishPayload {
  /** Task id. */
  readonly taskId: string;
  /** Task name (Celery's `sender`). */
  readonly taskName: string;
  /** Positional arguments, as sent. */
  readonly args: readonly unknown[];
  /** Keyword arguments, as sent. */
  readonly kwargs: Readonly<Record<string, unknown>>;
  /** The headers that were sent. */
  readonly headers: Readonly<Record<string, unknown>>;
  /** Exchange it was published to. */
  readonly exchange: string;
  /** Routing key it was published with. */
  readonly routingKey: string;
}

/** What every task signal of the worker says about the task. */
export interface TaskSignalPayload {
  /** Task id. */
  readonly taskId: string;
  /** Task name. */
  readonly taskName: string;
  /** The registered task (Celery's `sender`/`task`). */
  readonly task: Task;
  /** The request the task runs (or would have run) with, as `currentTask()` returns it. */
  readonly request: TaskRequest;
}

/** Arguments of `taskPrerun`, Celery's `task_prerun`: sent just before the task function runs. */
export interface TaskPrerunPayload extends TaskSignalPayload {
  /** Positional arguments, as received. */
  readonly args: readonly unknown[];
  /** Keyword arguments, as received. */
  readonly kwargs: Readonly<Record<string, unknown>>;
}

/**
 * Arguments of `taskPostrun`, Celery's `task_postrun`: sent after the task's outcome was handled
 * (stored, retried, rejected…), whatever it was; not for a run abandoned at the shutdown deadline or
 * terminated by a revoke.
 */
export interface TaskPostrunPayload extends TaskPrerunPayload {
  /** What the task returned, or what it threw. */
  readonly retval: unknown;
  /** The state it ended in: `SUCCESS`, `FAILURE`, `RETRY`, `REJECTED` or `IGNORED`. */
  readonly state: TaskStateName;
}

/** Arguments of `taskSuccess`, Celery's `task_success`: sent once SUCCESS was stored. */
export interface TaskSuccessPayload extends TaskSignalPayload {
  /** What the task returned. */
  readonly result: unknown;
}

/** Arguments of `taskFailure`, Celery's `task_failure`: sent once FAILURE was stored. */
export interface TaskFailurePayload extends TaskPrerunPayload {
  /** What the task threw (or the worker's own error: a time limit, invalid arguments…); Celery's `exception`. */
  readonly error: unknown;
  /** The failure as stored in the result document. */
  readonly exception: ExceptionInfo;
  /** The stored traceback text. */
  readonly traceback: string;
}

/** Arguments of `taskRetry`, Celery's `task_retry`: sent once the retry was published. */
export interface TaskRetryPayload extends TaskSignalPayload {
  /** Why: the error given to the retry, else the `Retry` itself (Celery's `reason`). */
  readonly reason: unknown;
  /** When the retry is due. */
  readonly eta: Date;
}

/** Arguments of `taskRevoked`, Celery's `task_revoked`: sent once REVOKED was stored. */
export interface TaskRevokedPayload extends TaskSignalPayload {
  /** `revoked` (by `app.control.revoke`), `expired` (its `expires` passed), `terminated` (revoked while running). */
  readonly reason: "revoked" | "expired" | "terminated";
  /** True when it was revoked while running (Celery's `terminated`). */
  readonly terminated: boolean;
  /** True when it expired before it started (Celery's `expired`). */
  readonly expired: boolean;
}

/** Arguments of `workerReady` (Celery's `worker_ready`) and `workerShutdown` (`worker_shutdown`). */
export interface WorkerSignalPayload {
  /** The worker's node name, e.g. `celery@host`. */
  readonly hostname: string;
  /** The queues it consumes. */
  readonly queues: readonly string[];
}

/** Every signal of `app.signals` and its payload. */
export interface TqSignals {
  /** Before the app publishes a task; handlers may change its headers. Celery: `before_task_publish`. */
  beforeTaskPublish: BeforeTaskPublishPayload;
  /** After the broker accepted a task message. Celery: `after_task_publish`. */
  afterTaskPublish: AfterTaskPublishPayload;
  /** A worker is about to run a task. Celery: `task_prerun`. */
  taskPrerun: TaskPrerunPayload;
  /** A worker handled a task's outcome. Celery: `task_postrun`. */
  taskPostrun: TaskPostrunPayload;
  /** A task succeeded. Celery: `task_success`. */
  taskSuccess: TaskSuccessPayload;
  /** A task failed. Celery: `task_failure`. */
  taskFailure: TaskFailurePayload;
  /** A task will be retried. Celery: `task_retry`. */
  taskRetry: TaskRetryPayload;
  /** A task was revoked, expired or terminated. Celery: `task_revoked`. */
  taskRevoked: TaskRevokedPayload;
  /** A worker is consuming. Celery: `worker_ready`. */
  workerReady: WorkerSignalPayload;
  /** A worker finished its running tasks and is about to close its connections. Celery: `worker_shutdown`. */
  workerShutdown: WorkerSignalPayload;
}

/** The names of {@link TqSignals}. */
export const SIGNAL_NAMES: readonly (keyof TqSignals)[] = Object.freeze([
  "beforeTaskPublish",
  "afterTaskPublish",
  "taskPrerun",
  "taskPostrun",
  "taskSuccess",
  "taskFailure",
  "taskRetry",
  "taskRevoked",
  "workerReady",
  "workerShutdown",
]);
