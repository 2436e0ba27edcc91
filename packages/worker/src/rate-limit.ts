import { type App, type Logger, parseRateLimit, type RateLimit, type Task, TqError } from "@tq/core";

export type { RateLimit };

/**
 * The rate limit a task runs under, in tasks per second (0 for none): its `rateLimit` option, else the
 * app's `taskDefaultRateLimit` (Celery's `rate_limit` and `task_default_rate_limit`). Throws `TQ_CONFIG`
 * naming the task and the value when the value is not a rate.
 */
export function taskRateLimit(task: Task, app: App): number {
  const own = task.options.rateLimit;
  if (own !== undefined) return parseRateLimit(own, `task "${task.name}"`);
  return parseRateLimit(
    app.conf.taskDefaultRateLimit,
    `task "${task.name}" (from the app's taskDefaultRateLimit)`,
  );
}

/** Checks every registered task's rate limit; throws `TQ_CONFIG` naming the first task with a bad one. */
export function checkTaskRateLimits(app: App): void {
  for (const task of app.tasks.values()) taskRateLimit(task, app);
}

/**
 * The rate of a task by name, for the worker's limiter, which must not throw while it takes a message:
 * a task registered after the worker started was not checked, so a bad value of its own is logged and
 * the task runs without a limit.
 */
export function taskRateLookup(app: App, logger: Logger): (taskName: string) => number {
  return (taskName) => {
    const task = app.tasks.get(taskName);
    if (!task) return 0;
    try {
      return taskRateLimit(task, app);
    } catch (error) {
      logger.error("ignoring an invalid rate limit", { "tq.task_name": taskName, error });
      return 0;
    }
  };
}

/**
 * The new rate, in tasks per second, of a run-time change to a task's rate limit. Throws `TQ_CONFIG`
 * for a task not registered on this app (Celery's control command replies "unknown task") or a value
 * that is not a rate.
 */
export function rateLimitChange(app: App, taskName: string, rate: RateLimit): number {
  if (!app.tasks.has(taskName)) {
    throw new TqError("TQ_CONFIG", `cannot set the rate limit of unknown task "${taskName}"`, {
      component: "worker",
    });
  }
  return parseRateLimit(rate, `task "${taskName}"`);
}
