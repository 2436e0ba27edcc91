import type { ExceptionInfo, TqError } from "@tq/core";

/** What every task event says about the task. */
export interface TaskEventInfo {
  /** Task id. */
  taskId: string;
  /** Registered task name. */
  taskName: string;
  /** Queue the message came from. */
  queue: string;
  /** Retries before this run. */
  retries: number;
}

/** Payload of `task-succeeded`. */
export interface TaskSucceededEvent extends TaskEventInfo {
  /** The returned value. */
  result: unknown;
  /** Time the task ran, in milliseconds. */
  runtimeMs: number;
}

/** Payload of `task-failed`. */
export interface TaskFailedEvent extends TaskEventInfo {
  /** What the task threw (or the worker's own error, e.g. a time limit). */
  error: unknown;
  /** The failure as stored in the result document. */
  exception: ExceptionInfo;
  /** Time the task ran, in milliseconds. */
  runtimeMs: number;
}

/** Payload of `task-retried`. */
export interface TaskRetriedEvent extends TaskEventInfo {
  /** The cause given to `Retry`, if any. */
  error: unknown;
  /** When the retry is due. */
  eta: Date;
}

/** Payload of `task-deferred`. */
export interface TaskDeferredEvent extends TaskEventInfo {
  /** The task's ETA. */
  eta: Date;
  /** When the broker delivers it again. */
  deliverAt: Date;
}

/** Payload of `task-rejected`. */
export interface TaskRejectedEvent extends TaskEventInfo {
  /** True when the message was put back rather than dropped. */
  requeue: boolean;
  /** The reason the task gave. */
  reason: string;
}

/** Payload of `task-revoked`. */
export interface TaskRevokedEvent extends TaskEventInfo {
  /** Why: `revoked` by `app.control.revoke`, `expired` (its `expires` passed before it started), `terminated` (revoked while running). */
  reason: "revoked" | "expired" | "terminated";
}

/** Payload of `message-rejected`: a message that cannot run here at all. */
export interface MessageRejectedEvent {
  /** Queue it came from. */
  queue: string;
  /** `TQ_MESSAGE_INVALID` (malformed) or `TQ_TASK_NOT_REGISTERED`. */
  code: string;
  /** The precise reason, also written to the `x-tq-rejected-reason` header. */
  reason: string;
  /** Task id, when the message had a readable one. */
  taskId: string | null;
  /** Where the message was kept, or null when it was dropped (or requeued because keeping it failed). */
  deadLetterQueue: string | null;
  /** The error describing the problem. */
  error: TqError;
}

/** The worker's events and their arguments, for `worker.on(...)`. */
export interface WorkerEvents {
  /** A task message was accepted (it may still wait for a slot or its ETA). */
  "task-received": [TaskEventInfo];
  /**
   * An ETA task was handed back to the broker (beyond the hold horizon, or more held than allowed):
   * it is received again at `deliverAt`. Emitted instead of `task-received` for that delivery.
   */
  "task-deferred": [TaskDeferredEvent];
  /** A task began running. */
  "task-started": [TaskEventInfo];
  /** A task returned. */
  "task-succeeded": [TaskSucceededEvent];
  /** A task threw, ran out of retries or passed its time limit. */
  "task-failed": [TaskFailedEvent];
  /** A task asked to be retried and was sent again. */
  "task-retried": [TaskRetriedEvent];
  /** A task threw `Reject`. */
  "task-rejected": [TaskRejectedEvent];
  /** A task expired before it started. */
  "task-revoked": [TaskRevokedEvent];
  /** A message was malformed or named an unregistered task. */
  "message-rejected": [MessageRejectedEvent];
  /** The worker is consuming. */
  ready: [];
  /** The worker stopped and closed the app. */
  stopped: [];
}

/** Emits a worker event. */
export type EmitWorkerEvent = <K extends keyof WorkerEvents>(event: K, ...args: WorkerEvents[K]) => void;
