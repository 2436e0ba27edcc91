import { type AnySignature, Group, type SignatureJson, signatureFromJson } from "@tq/core";
import { type Lineage, lineageOptions, type WorkflowContext } from "./context.js";

/**
 * Applies a succeeded task's callbacks (`link`, `embed.callbacks`) with its result prepended, as
 * Celery's tracer does: one callback alone; several sent as one group, except groups, each applied on
 * its own. Resolves once every message was published.
 */
export async function applyCallbacks(
  ctx: WorkflowContext,
  callbacks: readonly SignatureJson[],
  value: unknown,
  lineage: Lineage,
): Promise<void> {
  const { app } = ctx;
  const signatures = callbacks.map((callback) => signatureFromJson(callback, app));
  if (signatures.length === 1) {
    const [only] = signatures as [AnySignature];
    await only.applyWith([value], {}, lineageOptions(lineage, only.options), app).sent;
    return;
  }
  const groups = signatures.filter((signature) => signature instanceof Group);
  const others = signatures.filter((signature) => !(signature instanceof Group));
  const sends = groups.map((group) => group.applyWith([value], {}, lineageOptions(lineage, {}), app).sent);
  if (others.length > 0) {
    sends.push(new Group(others, { app }).applyWith([value], {}, lineageOptions(lineage, {}), app).sent);
  }
  await Promise.all(sends);
}

/**
 * Sends a chain's next step: the last of `embed.chain` (stored last-first), with the result prepended
 * unless it is immutable and the steps left as its own chain, as Celery's `chain.pop()`.
 */
export async function sendNextStep(
  ctx: WorkflowContext,
  chain: readonly SignatureJson[],
  value: unknown,
  lineage: Lineage,
): Promise<void> {
  const rest = [...chain];
  const next = rest.pop();
  if (!next) return;
  const { app } = ctx;
  const step = signatureFromJson(next, app);
  await step.applyWith([value], {}, { ...lineageOptions(lineage, step.options), chain: rest }, app).sent;
}
