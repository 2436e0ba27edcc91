import type { ExceptionInfo, SignatureJson, TaskMeta } from "@tq/core";
import type { WorkflowContext } from "./context.js";

/** A result that will never come, because the workflow stopped before its task. */
export interface PendingResult {
  taskId: string;
  groupId?: string;
  parentId?: string;
}

/**
 * The task results a signature stood for: its own (once frozen, it has a `task_id`), its members' (a
 * chain's steps, a group's tasks, a chord's header and body) and the steps its `chain` option carries.
 */
export function pendingResults(signature: SignatureJson): PendingResult[] {
  const out: PendingResult[] = [];
  const visit = (json: unknown): void => {
    if (typeof json !== "object" || json === null) return;
    const { subtask_type: type, options, kwargs } = json as SignatureJson;
    const opts = (options ?? {}) as Record<string, unknown>;
    const args = (kwargs ?? {}) as Record<string, unknown>;
    if (type === "chain" || type === "group") {
      for (const task of asList(args.tasks)) visit(task);
    } else if (type === "chord") {
      const header = args.header as SignatureJson | unknown[] | undefined;
      for (const task of Array.isArray(header) ? header : asList(header?.kwargs?.tasks)) visit(task);
      visit(args.body);
    } else if (typeof opts.task_id === "string") {
      const result: PendingResult = { taskId: opts.task_id };
      if (typeof opts.group_id === "string") result.groupId = opts.group_id;
      if (typeof opts.parent_id === "string") result.parentId = opts.parent_id;
      out.push(result);
    }
    for (const step of asList(opts.chain)) visit(step);
  };
  visit(signature);
  return out;
}

/**
 * Stores FAILURE with the failed task's exception for results that will never come, as Celery's
 * `mark_as_failure` does for the rest of a chain, so that a client waiting on the chain's last result
 * gets the error instead of waiting forever. Nothing without a result backend.
 */
export async function storeFailures(
  ctx: WorkflowContext,
  pending: readonly PendingResult[],
  exception: ExceptionInfo,
  traceback: string | null,
): Promise<void> {
  const { app } = ctx;
  if (pending.length === 0 || !app.hasResultBackend) return;
  const backend = await app.getBackend();
  const expiresMs = app.conf.resultExpires === null ? null : app.conf.resultExpires * 1000;
  const done = pythonUtcIso(new Date());
  await Promise.all(
    pending.map((result) => {
      const meta: TaskMeta = {
        status: "FAILURE",
        result: exception,
        traceback,
        children: [],
        date_done: done,
        task_id: result.taskId,
      };
      if (result.groupId) meta.group_id = result.groupId;
      if (result.parentId) meta.parent_id = result.parentId;
      return backend.store(meta, { expiresMs });
    }),
  );
}

function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

// As the worker's result documents: Python before 3.11 cannot read toISOString()'s `Z`.
function pythonUtcIso(date: Date): string {
  return `${date.toISOString().slice(0, 23)}000+00:00`;
}
