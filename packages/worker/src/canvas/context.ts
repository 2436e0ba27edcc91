import type { App, Logger } from "@tq/core";

/** What the workflow steps need from the worker (the executor's context is one). */
export interface WorkflowContext {
  readonly app: App;
  readonly hostname: string;
  readonly logger: Logger;
}

/** The task whose outcome moves the workflow on: the parent of what it sends, and its root. */
export interface Lineage {
  /** The finished task's id: `parent_id` of the messages sent for it. */
  readonly taskId: string;
  /** The workflow's first task: `root_id` of every message. */
  readonly rootId: string;
  /**
   * The finished task's `reply_to`, passed on to what it sends unless that names its own (Celery
   * freezes the caller's into every step), so an rpc:// caller gets the workflow's results.
   */
  readonly replyTo?: string | undefined;
}

/** `parent_id`, `root_id` and `reply_to` for what a finished task sends on behalf of its workflow. */
export function lineageOptions(
  lineage: Lineage,
  own: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const options: Record<string, unknown> = { parent_id: lineage.taskId, root_id: lineage.rootId };
  if (lineage.replyTo && typeof own.reply_to !== "string") options.reply_to = lineage.replyTo;
  return options;
}
