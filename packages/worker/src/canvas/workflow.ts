/**
 * What the worker does for a task's workflow once its outcome is stored, as Celery's tracer and
 * `backend.mark_as_done`/`mark_as_failure` do: on success the callbacks, the chain's next step and the
 * chord counter; on failure the chord counter, FAILURE for the chain's remaining steps, and the
 * errbacks. Each part that fails is logged and the others still run; nothing here throws.
 */
import type { ExceptionInfo, SignatureJson, TaskMessage } from "@tq/core";
import { createTaskRequest } from "../build-request.js";
import type { Job } from "../job.js";
import { createStateUpdater } from "../update-state.js";
import { applyCallbacks, sendNextStep } from "./callbacks.js";
import { recordChordPart } from "./chord-join.js";
import type { Lineage, WorkflowContext } from "./context.js";
import { callErrbacks } from "./errbacks.js";
import { pendingResults, storeFailures } from "./failures.js";

/** Runs the callbacks, sends the chain's next step and records a chord member's result. */
export async function continueWorkflow(ctx: WorkflowContext, job: Job, value: unknown): Promise<void> {
  const { message } = job;
  const { callbacks, chain } = message.embed;
  const member = chordMembership(message);
  if (!callbacks?.length && !chain?.length && !member) return;
  const lineage = lineageOf(message);
  if (callbacks?.length) {
    await guarded(ctx, job, "apply the task's callbacks", () =>
      applyCallbacks(ctx, callbacks, value, lineage),
    );
  }
  if (chain?.length) {
    await guarded(ctx, job, "send the chain's next step", () => sendNextStep(ctx, chain, value, lineage));
  }
  if (member) {
    const part = { index: member.index, taskId: message.id, status: "SUCCESS", result: value };
    await guarded(ctx, job, "record a chord part", () =>
      recordChordPart(ctx, member.groupId, part, member.body, lineage),
    );
  }
}

/** What a failure stored: the thrown value, and its exception and traceback as stored. */
export interface StoredFailure {
  error: unknown;
  exception: ExceptionInfo;
  traceback: string | null;
}

/**
 * Records a chord member's failure (the chord's body fails with `ChordError` once the header is
 * complete), stores FAILURE for the chain's remaining steps (and counts those that were chord members),
 * and runs the errbacks.
 */
export async function failWorkflow(ctx: WorkflowContext, job: Job, failure: StoredFailure): Promise<void> {
  const { message } = job;
  const { errbacks, chain } = message.embed;
  const member = chordMembership(message);
  if (!errbacks?.length && !chain?.length && !member) return;
  const lineage = lineageOf(message);
  const { exception, traceback } = failure;
  if (member) {
    const part = { index: member.index, taskId: message.id, status: "FAILURE", result: exception };
    await guarded(ctx, job, "record a chord part", () =>
      recordChordPart(ctx, member.groupId, part, member.body, lineage),
    );
  }
  if (chain?.length) {
    await guarded(ctx, job, "fail the chain's remaining steps", () =>
      failChainSteps(ctx, chain, failure, lineage),
    );
  }
  if (errbacks?.length) {
    const request = createTaskRequest(
      message,
      job.delivery,
      ctx.hostname,
      job,
      createStateUpdater(ctx.app, ctx.hostname),
    );
    await guarded(ctx, job, "run the task's errbacks", () =>
      callErrbacks(ctx, errbacks, request, failure.error, traceback, lineage),
    );
  }
}

/** Records a revoked chord member (Celery's `mark_as_revoked`): the chord's body fails with `ChordError`. */
export async function revokeInWorkflow(
  ctx: WorkflowContext,
  job: Job,
  exception: ExceptionInfo,
): Promise<void> {
  const member = chordMembership(job.message);
  if (!member) return;
  const part = { index: member.index, taskId: job.message.id, status: "REVOKED", result: exception };
  await guarded(ctx, job, "record a chord part", () =>
    recordChordPart(ctx, member.groupId, part, member.body, lineageOf(job.message)),
  );
}

async function failChainSteps(
  ctx: WorkflowContext,
  chain: readonly SignatureJson[],
  failure: StoredFailure,
  lineage: Lineage,
): Promise<void> {
  const { exception, traceback } = failure;
  await storeFailures(ctx, chain.flatMap(pendingResults), exception, traceback);
  // A step that was the last of a chord header member still counts for its chord, or the chord would wait.
  for (const step of chain) {
    const { chord, group_id: groupId, group_index: index, task_id: taskId } = step.options;
    if (!chord || typeof groupId !== "string" || typeof taskId !== "string") continue;
    const part = {
      index: typeof index === "number" ? index : unindexed(taskId),
      taskId,
      status: "FAILURE",
      result: exception,
    };
    await recordChordPart(ctx, groupId, part, chord as SignatureJson, lineage);
  }
}

interface ChordMembership {
  groupId: string;
  index: number;
  body: SignatureJson;
}

// A chord member's message carries the body (`embed.chord`) and the header's id (`group`).
function chordMembership(message: TaskMessage): ChordMembership | undefined {
  const body = message.embed.chord;
  if (body === null || message.group === null) return undefined;
  return { groupId: message.group, index: message.groupIndex ?? unindexed(message.id), body };
}

/**
 * Celery < 5.1 sent no `group_index` (its Redis backend then scores the part `+inf`). Such parts come
 * after the indexed ones, each at a position of its own derived from its task id.
 */
function unindexed(taskId: string): number {
  let hash = 0;
  for (const char of taskId) hash = (hash * 31 + char.charCodeAt(0)) % 1_000_000_007;
  return 2 ** 32 + hash;
}

function lineageOf(message: TaskMessage): Lineage {
  const replyTo = message.properties.reply_to;
  return {
    taskId: message.id,
    rootId: message.rootId,
    ...(typeof replyTo === "string" && replyTo !== "" ? { replyTo } : {}),
  };
}

async function guarded(
  ctx: WorkflowContext,
  job: Job,
  what: string,
  work: () => Promise<void>,
): Promise<void> {
  try {
    await work();
  } catch (error) {
    ctx.logger.error(`could not ${what}`, { ...job.attributes(), error });
  }
}
