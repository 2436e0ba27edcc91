import { bindArguments, runWithTaskRequest, type Task, type TaskRequest } from "@tq/core";

/**
 * Calls a task's function for one request, inside `currentTask()`'s context, with its arguments bound
 * from `args` and `kwargs`. Every pool runs tasks through this function (the async pool in the worker's
 * thread, the threads and processes pools in their children), so what happens around the call (argument
 * validation, automatic retries) is the same whatever the pool.
 */
export function invokeTask(task: Task, request: TaskRequest): Promise<unknown> {
  return runWithTaskRequest(request, async () =>
    task.fn(...bindArguments(task, request.args, request.kwargs)),
  );
}
