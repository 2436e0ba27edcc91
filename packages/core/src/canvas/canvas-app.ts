import type { AsyncResult, ResultSource } from "../async-result.js";
import type { TaskRoute } from "../config.js";
import type { SendTaskOptions, Task } from "../task.js";

/**
 * The part of an app the canvas needs: sending tasks, reading results (groups, chord counters), the
 * registered tasks (a signature of a registered task is sent with the task's own options, as Celery's
 * `signature.type.apply_async`) and the routes. An `App` is one.
 */
export interface CanvasApp extends ResultSource {
  /** Sends a task by name (`app.sendTask`). */
  sendTask<R>(
    name: string,
    args: readonly unknown[],
    kwargs: Record<string, unknown>,
    options: SendTaskOptions,
  ): AsyncResult<R>;
  /** Registered tasks by name. */
  readonly tasks: ReadonlyMap<string, Task>;
  /** The app's settings; the canvas reads the routes (`taskRoutes`). */
  readonly conf: { readonly taskRoutes: Readonly<Record<string, TaskRoute>> };
}
