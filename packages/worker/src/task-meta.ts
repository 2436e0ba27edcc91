import { isReadyState, type TaskMessage, type TaskMeta, type TaskStateName } from "@tq/core";

/** What a result document is written about. */
export interface MetaSubject {
  /** The task's message. */
  message: TaskMessage;
  /** The queue it was consumed from (Celery stores `delivery_info.routing_key`). */
  queue: string;
}

/** Settings that shape a result document. */
export interface MetaSettings {
  /** The worker's node name, for the extended `worker` field. */
  hostname: string;
  /** Add name, args, kwargs, worker, retries and queue (Celery's `result_extended`). */
  extended: boolean;
}

/**
 * A result document exactly as a Celery worker writes it (`celery.backends.base._get_result_meta`):
 * `date_done` is set for ready states only, `group_id` and `parent_id` only when the task has them.
 */
export function buildTaskMeta(
  subject: MetaSubject,
  status: TaskStateName,
  result: unknown,
  traceback: string | null,
  settings: MetaSettings,
): TaskMeta {
  const { message, queue } = subject;
  const meta: TaskMeta = {
    status,
    result,
    traceback,
    children: [],
    date_done: isReadyState(status) ? pythonUtcIso(new Date()) : null,
    task_id: message.id,
  };
  if (message.group) meta.group_id = message.group;
  if (message.parentId) meta.parent_id = message.parentId;
  if (settings.extended) {
    Object.assign(meta, {
      name: message.task,
      args: message.args,
      kwargs: message.kwargs,
      worker: settings.hostname,
      retries: message.retries,
      queue,
    });
  }
  return meta;
}

// Python's isoformat() of an aware UTC datetime, as Celery ≥5.5 writes date_done. Python before 3.11
// cannot read the `Z` of toISOString().
function pythonUtcIso(date: Date): string {
  return `${date.toISOString().slice(0, 23)}000+00:00`;
}
