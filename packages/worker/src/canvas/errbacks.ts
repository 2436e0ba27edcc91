import {
  type AnySignature,
  bindKeywordArguments,
  Group,
  type SignatureJson,
  signatureFromJson,
  type TaskRequest,
} from "@tq/core";
import { type Lineage, lineageOptions, type WorkflowContext } from "./context.js";

/**
 * What an errback called in the worker gets as its first argument: the failed task's request, or, for
 * a chord body that failed before it ran, the parts of it a request would have.
 */
export type ErrbackRequest = Pick<
  TaskRequest,
  "id" | "name" | "args" | "kwargs" | "rootId" | "parentId" | "groupId"
>;

/**
 * Runs a failed task's errbacks (`link_error`, `embed.errbacks`) as Celery 5.2's
 * `backend._call_task_errbacks`: an errback registered here whose function takes more than one
 * parameter is called in this process with `(request, error, traceback)` (plus its own arguments, or
 * only those when it is immutable); the others are sent together as a group with the failed task's id
 * prepended, `parent_id` the failed task. An errback that throws is logged; it never fails the worker.
 */
export async function callErrbacks(
  ctx: WorkflowContext,
  errbacks: readonly SignatureJson[],
  request: ErrbackRequest,
  error: unknown,
  traceback: string | null,
  lineage: Lineage,
): Promise<void> {
  const { app, logger } = ctx;
  const sent: AnySignature[] = [];
  for (const errback of errbacks) {
    const signature = signatureFromJson(errback, app);
    const local = app.tasks.get(signature.task);
    if (!local || local.fn.length <= 1) {
      sent.push(signature);
      continue;
    }
    const args = signature.immutable ? signature.args : [request, error, traceback, ...signature.args];
    try {
      await local.fn(...bindKeywordArguments(local, args, signature.kwargs));
    } catch (errbackError) {
      logger.error(`errback ${signature.task} failed`, {
        "tq.task_id": lineage.taskId,
        "tq.task_name": signature.task,
        error: errbackError,
      });
    }
  }
  if (sent.length === 0) return;
  await new Group(sent, { app }).applyWith([lineage.taskId], {}, lineageOptions(lineage, {}), app).sent;
}
