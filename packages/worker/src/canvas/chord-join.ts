import {
  type AnySignature,
  type CeleryOptions,
  ChordError,
  type ChordPart,
  pyRepr,
  type SignatureJson,
  signatureFromJson,
  signatureList,
} from "@tq/core";
import { type Lineage, lineageOptions, type WorkflowContext } from "./context.js";
import { callErrbacks, type ErrbackRequest } from "./errbacks.js";
import { pendingResults, storeFailures } from "./failures.js";

// Celery's PROPAGATE_STATES: a header member in one of these fails the chord.
const PROPAGATE_STATES: ReadonlySet<string> = new Set(["FAILURE", "REVOKED"]);

/**
 * Records a finished chord header member in the backend's chord counter (Celery's
 * `on_chord_part_return`). The backend reports `complete` to exactly one caller, which then sends the
 * body with every result in header order, or fails it with `ChordError` when a member failed, and
 * clears the counter. A member reported again (a redelivered message) is counted once.
 */
export async function recordChordPart(
  ctx: WorkflowContext,
  groupId: string,
  part: ChordPart,
  body: SignatureJson,
  lineage: Lineage,
): Promise<void> {
  const { app, logger } = ctx;
  if (!app.hasResultBackend) {
    logger.error("a chord member finished but the app has no result backend to count it in", {
      "tq.task_id": part.taskId,
      "tq.group_id": groupId,
    });
    return;
  }
  const backend = await app.getBackend();
  const progress = await backend.addChordPart(groupId, part);
  if (!progress.complete) return;
  try {
    await finishChord(ctx, body, progress.parts, lineage);
  } finally {
    await backend.clearChord(groupId);
  }
}

async function finishChord(
  ctx: WorkflowContext,
  bodyJson: SignatureJson,
  parts: readonly ChordPart[],
  lineage: Lineage,
): Promise<void> {
  const { app, logger } = ctx;
  const body = signatureFromJson(bodyJson, app);
  const failed = parts.find((part) => PROPAGATE_STATES.has(part.status));
  if (failed) {
    const reason = `Dependency ${failed.taskId} raised ${exceptionRepr(failed.result)}`;
    return failChord(ctx, body, new ChordError(reason), lineage);
  }
  // Sent by the worker that finished the header: it is the body's parent unless the chord said otherwise.
  const options: CeleryOptions = lineageOptions(lineage, body.options);
  if (typeof body.options.parent_id === "string") delete options.parent_id;
  if (typeof body.options.root_id === "string") delete options.root_id;
  try {
    await body.applyWith([parts.map((part) => part.result)], {}, options, app).sent;
  } catch (error) {
    logger.error("could not send a chord's body", { "tq.task_id": body.id, error });
    await failChord(ctx, body, new ChordError(`Callback error: ${errorRepr(error)}`), lineage);
  }
}

/**
 * Fails a chord's body without running it (Celery's `chord_error_from_stack`): its errbacks run with a
 * request made from the body, then FAILURE `ChordError` is stored for it (and for the steps a chain
 * would have run after it).
 */
export async function failChord(
  ctx: WorkflowContext,
  body: AnySignature,
  error: ChordError,
  lineage: Lineage,
): Promise<void> {
  const exception = error.toExceptionInfo();
  const traceback = `celery.exceptions.ChordError: ${error.reason}\n`;
  const id = body.id ?? lineage.taskId;
  const rootId = typeof body.options.root_id === "string" ? body.options.root_id : lineage.rootId;
  const request: ErrbackRequest = {
    id,
    name: body.task,
    args: body.args,
    kwargs: body.kwargs,
    rootId,
    parentId: typeof body.options.parent_id === "string" ? body.options.parent_id : lineage.taskId,
    groupId: typeof body.options.group_id === "string" ? body.options.group_id : null,
  };
  ctx.logger.error(`chord failed: ${error.reason}`, { "tq.task_id": id, "tq.root_id": rootId });
  await callErrbacks(ctx, signatureList(body.options.link_error, "link_error"), request, error, traceback, {
    taskId: id,
    rootId,
    replyTo: lineage.replyTo,
  });
  await storeFailures(ctx, pendingResults(body.toJSON()), exception, traceback);
}

/** Python's `repr()` of a stored exception: `ValueError('boom')`. */
export function exceptionRepr(result: unknown): string {
  if (
    typeof result === "object" &&
    result !== null &&
    typeof (result as { exc_type?: unknown }).exc_type === "string"
  ) {
    const { exc_type: type, exc_message: message } = result as { exc_type: string; exc_message?: unknown };
    const args = Array.isArray(message)
      ? message
      : message === undefined || message === null
        ? []
        : [message];
    return `${type}(${args.map((arg) => pyRepr(arg)).join(", ")})`;
  }
  return pyRepr(result);
}

function errorRepr(error: unknown): string {
  if (error instanceof Error) return `${error.name}(${pyRepr(error.message)})`;
  return pyRepr(error);
}
