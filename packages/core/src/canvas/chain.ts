import type { AsyncResult } from "../async-result.js";
import { TqError } from "../errors.js";
import type { SignatureJson } from "../message/types.js";
import type { CanvasApp } from "./canvas-app.js";
import { Chord } from "./chord.js";
import { Group } from "./group.js";
import { type CeleryOptions, signatureList } from "./options.js";
import { type ResultNode, rootNode } from "./result-node.js";
import {
  type AnySignature,
  type Applied,
  type FreezeParams,
  Signature,
  type SignatureInit,
  withoutNulls,
} from "./signature.js";
import { SignatureList } from "./signature-list.js";
import type { CheckedChain, FirstParams, LastHandle, LastResult } from "./types.js";

/**
 * Tasks run one after the other, each result passed to the next as its first argument (Celery's
 * `chain`, `subtask_type: "chain"`, task `celery.chain`). Applying it sends the first step with the
 * others in its message's `embed.chain`, last first, as Celery does; the worker that runs a step sends
 * the next one. A group followed by a step becomes a chord; a chain inside a chain is spliced in.
 * `applyAsync()` returns the last step's result, whose `parent` is the step before's, and so on.
 */
export class Chain<P extends unknown[] = unknown[], R = unknown, H = AsyncResult<R>> extends SignatureList<
  P,
  R,
  H
> {
  constructor(tasks: readonly AnySignature[], init: SignatureInit = {}) {
    super("celery.chain", tasks, { ...init, subtaskType: "chain" });
  }

  protected override copy(): this {
    return new Chain(this.copiedTasks(), this.initFields()) as this;
  }

  /** What its last step adds (its last one that adds anything), as Celery's `_descend`. */
  override chordSize(): number {
    for (let i = this.tasks.length - 1; i >= 0; i--) {
      const size = this.tasks[i]!.chordSize();
      if (size > 0) return size;
    }
    return 0;
  }

  /** Celery's `chain.freeze`: every step frozen in place; the last step's result, with its parents. */
  override freezeNode(params: FreezeParams): ResultNode {
    const { nodes } = prepareSteps(this.args, this.kwargs, this.tasks, {
      rootId: params.rootId,
      lastTaskId: params.id,
      groupId: params.groupId,
      chord: params.chord,
      groupIndex: params.groupIndex,
      clone: false,
    });
    const last = nodes[0];
    if (!last) throw emptyChain();
    return last;
  }

  /**
   * Celery's `chain.apply_async`/`run`: the steps are cloned and frozen (the call's `task_id` goes to
   * the last step), the first is sent with the arguments and with the rest as its `chain` option; a
   * `link` goes to the last step and a `link_error` to every step.
   * @throws TqError `TQ_CONFIG` for an empty chain.
   */
  override applyWith(
    args: readonly unknown[],
    kwargs: Record<string, unknown>,
    options: CeleryOptions,
    inherited: CanvasApp | undefined,
  ): Applied {
    const app = this.boundApp(inherited);
    const merged: CeleryOptions = { ...this.options, ...withoutNulls(options) };
    const { group_id, chord, task_id, link, link_error, root_id, parent_id, group_index, ...rest } = merged;
    // Celery's partial arguments: prepended unless immutable.
    const [partial] = this.merge(args, {});
    const { steps, nodes } = prepareSteps(partial, kwargs, this.tasks, {
      rootId: stringOr(root_id),
      linkError: signatureList(link_error, "link_error"),
      lastTaskId: stringOr(task_id),
      groupId: stringOr(group_id),
      chord: chord as SignatureJson | undefined,
      groupIndex: typeof group_index === "number" ? group_index : undefined,
      clone: true,
    });
    const first = steps.pop();
    if (!first) throw emptyChain();
    // `steps` is last-first now: exactly Celery's `embed.chain`, popped from the end by each worker.
    if (link !== undefined)
      for (const callback of signatureList(link, "link")) (steps[0] ?? first).link(callback);
    const remaining = steps.map((step) => step.toJSON());
    const outer = rest.chain === undefined ? [] : signatureList(rest.chain, "chain");
    // Celery's worker sends the first step while the previous task is current: that task is its parent.
    const firstOptions: CeleryOptions = { ...rest, chain: [...outer, ...remaining] };
    if (typeof parent_id === "string") firstOptions.parent_id = parent_id;
    const applied = first.applyWith([], {}, firstOptions, app);
    return steps.length > 0 ? { node: nodes[0]!, sent: applied.sent } : applied;
  }
}

interface PrepareOptions {
  rootId?: string | undefined;
  linkError?: readonly SignatureJson[];
  lastTaskId?: string | undefined;
  groupId?: string | undefined;
  chord?: SignatureJson | undefined;
  groupIndex?: number | undefined;
  /** Clone each step (apply) or freeze the steps in place (freeze). */
  clone: boolean;
}

/**
 * Celery's `chain.prepare_steps`: walks the steps last to first, splicing nested chains, turning a group
 * followed by a step into a chord, freezing each (the last with the call's id, group and chord), and
 * linking each result to the one before. Returns the steps and their results last-first.
 */
function prepareSteps(
  args: readonly unknown[],
  kwargs: Record<string, unknown>,
  tasks: readonly AnySignature[],
  options: PrepareOptions,
): { steps: AnySignature[]; nodes: ResultNode[] } {
  const pending = [...tasks];
  const steps: AnySignature[] = [];
  const nodes: ResultNode[] = [];
  let previous: AnySignature | undefined;
  let previousNode: ResultNode | undefined;
  let i = 0;
  while (pending.length > 0) {
    let task = pending.pop()!;
    const isFirst = pending.length === 0;
    const isLast = i === 0;
    if (task instanceof Group && task.tasks.length === 1) task = task.tasks[0]!;
    if (options.clone) {
      task = isFirst ? task.cloneWith(args, kwargs) : task.cloneWith([], {});
    } else if (isFirst && args.length > 0) {
      task.args = [...args, ...task.args];
    }
    if (task instanceof Chain) {
      pending.push(...task.tasks);
      continue;
    }
    if (task instanceof Group && previous) {
      // group | task → chord(group, task), with the body's id the chord's.
      steps.pop();
      nodes.pop();
      const body = previous;
      task = new Chord(task, body, {
        options: {
          ...(previousNode ? { task_id: previousNode.id } : {}),
          ...(options.rootId ? { root_id: options.rootId } : {}),
        },
        app: task.app ?? body.app,
      });
    }
    let node = isLast
      ? task.freezeNode({
          id: options.lastTaskId,
          rootId: options.rootId,
          groupId: options.groupId,
          chord: options.chord,
          groupIndex: options.groupIndex,
        })
      : task.freezeNode({ rootId: options.rootId });
    i++;
    if (previousNode && !previousNode.parent) previousNode.parent = node;
    for (const errback of options.linkError ?? []) task.linkError(errback);
    steps.push(task);
    nodes.push(node);
    previous = task;
    // The step after a chord follows its body, whose first result is the header's group.
    if (task instanceof Chord) node = rootNode(node);
    previousNode = node;
  }
  return { steps, nodes };
}

function stringOr(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function emptyChain(): TqError {
  return new TqError("TQ_CONFIG", "cannot apply an empty chain", { component: "canvas" });
}

/**
 * A chain of signatures (Celery's `chain(a, b, c)`, `a | b | c`): each step's result is prepended to
 * the next step's arguments. The compiler checks that each step takes the previous step's result as its
 * first remaining argument (immutable `si()` steps and signatures made by name take anything).
 */
export function chain<const S extends readonly AnySignature[]>(
  ...steps: CheckedChain<S>
): Chain<FirstParams<S>, LastResult<S>, LastHandle<S>>;
export function chain(...steps: unknown[]): Chain {
  const list = (steps.length === 1 && Array.isArray(steps[0]) ? steps[0] : steps) as AnySignature[];
  for (const [index, step] of list.entries()) {
    if (!(step instanceof Signature)) {
      throw new TqError("TQ_CONFIG", `chain step ${index} is not a signature`, { component: "canvas" });
    }
  }
  return new Chain(list.map((step) => step.cloneWith([], {})));
}
