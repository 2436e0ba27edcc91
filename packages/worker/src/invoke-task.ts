import { runWithTaskRequest, type Task, type TaskRequest, taskCallArguments } from "@tq/core";
import { autoretry } from "./autoretry.js";

/**
 * Calls a task's function for one request, inside `currentTask()`'s context, with its arguments bound
 * from `args` and `kwargs`. Every pool runs tasks through this function (the async pool in the worker's
 * thread, the threads and processes pools in their children), so what happens around the call (argument
 * validation, automatic retries) is the same whatever the pool.
 */
export function invokeTask(task: Task, request: TaskRequest): Promise<unknown> {
  return runWithTaskRequest(request, async () => {
    // Bound from kwargs, then checked by the task's `args` schema if it has one: a message that does
    // not fit fails (TaskArgumentsError, stored as ValidationError) and the function gets the
    // validated values. An async schema costs a wait; a sync one (or none) none.
    const prepared = taskCallArguments(task, request.args, request.kwargs);
    const args = Array.isArray(prepared) ? prepared : await prepared;
    try {
      return await task.fn(...args);
    } catch (error) {
      // Only the function's own errors retry by themselves (`autoretryFor`): a call whose arguments do
      // not fit would fail the same way on every retry.
      throw autoretry(task, request.retries, error);
    }
  });
}
