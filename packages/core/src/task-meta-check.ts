/**
 * What keeps `meta` from being stored as a task's state document: not an object, or no `task_id` or
 * `status` string. Undefined when it can be stored. Result backends throw the message in their own
 * error (`TQ_SERIALIZATION` of their component) before anything reaches the server.
 *
 * @param noun what the message calls the value: "result document" (stored backends), "result" (replies).
 */
export function taskMetaProblem(meta: unknown, noun = "result document"): string | undefined {
  if (typeof meta !== "object" || meta === null) return `a ${noun} must be an object`;
  const { task_id: taskId, status } = meta as { task_id?: unknown; status?: unknown };
  if (typeof taskId !== "string" || taskId === "") return `a ${noun} needs a task_id string`;
  if (typeof status !== "string" || status === "")
    return `the ${noun} of task ${taskId} needs a status string`;
  return undefined;
}
