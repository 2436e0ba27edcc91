import type { App, SendTaskOptions } from "@tq/core";
import { TqError } from "@tq/core";
import type { BeatEntry } from "./entry.js";

/**
 * Sends an entry's task as Celery's beat does: through the registered task when the app has it (its
 * own defaults — queue, time limits — apply, as `task.apply_async(**entry.options)`), else by name.
 * The `periodic_task_name` header carries the entry's name (django-celery-beat's header, which
 * django-celery-results stores). Resolves once the broker accepted the message.
 */
export async function sendEntry(app: App, entry: BeatEntry, taskId: string): Promise<void> {
  const { headers, ...rest } = entry.options;
  const options: SendTaskOptions = {
    ...rest,
    taskId,
    headers: { ...headers, periodic_task_name: entry.name },
  };
  const task = app.tasks.get(entry.task);
  const result = task
    ? task.applyAsync([...entry.args], { ...entry.kwargs }, options)
    : app.sendTask(entry.task, entry.args, { ...entry.kwargs }, options);
  await result.sent;
}

/**
 * True for errors that sending again cannot fix (arguments a schema refuses, a serializer that does
 * not exist): beat drops that run instead of retrying it forever.
 */
export function isPermanentSendError(error: unknown): boolean {
  return (
    TqError.is(error, "TQ_INVALID_ARGUMENTS") ||
    TqError.is(error, "TQ_CONFIG") ||
    TqError.is(error, "TQ_SERIALIZATION") ||
    TqError.is(error, "TQ_UNKNOWN_SCHEME")
  );
}
