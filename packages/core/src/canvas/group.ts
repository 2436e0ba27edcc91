import { randomUUID } from "node:crypto";
import { TqError } from "../errors.js";
import type { SignatureJson } from "../message/types.js";
import type { CanvasApp } from "./canvas-app.js";
import type { GroupResult } from "./group-result.js";
import type { CeleryOptions, SignatureSource } from "./options.js";
import { groupNode, type ResultNode } from "./result-node.js";
import {
  type AnySignature,
  type Applied,
  type FreezeParams,
  Signature,
  type SignatureInit,
  withoutNulls,
} from "./signature.js";
import { SignatureList } from "./signature-list.js";
import type { GroupParams, GroupResults } from "./types.js";

/**
 * Tasks run in parallel (Celery's `group`, `subtask_type: "group"`, task `celery.group`). Applying it
 * sends every member with the group's id in its `group` header and returns a {@link GroupResult}
 * whose `get()` gives the members' results in order. A group inside a group is flattened, as Celery
 * does. Arguments given when it is applied are prepended to every member's.
 */
export class Group<R extends unknown[] = unknown[], P extends unknown[] = unknown[]> extends SignatureList<
  P,
  R,
  GroupResult<R>
> {
  constructor(tasks: readonly AnySignature[], init: SignatureInit = {}) {
    super("celery.group", tasks, { ...init, subtaskType: "group" });
  }

  protected override copy(): this {
    return new Group(this.copiedTasks(), this.initFields()) as this;
  }

  /** Every member's: the sum of what each adds (Celery's `_descend`). */
  override chordSize(): number {
    return this.tasks.reduce((sum, task) => sum + task.chordSize(), 0);
  }

  /**
   * Links a callback to the first member only, made immutable: it cannot take the group's results (use
   * a chord for that). As Celery's `group.link`.
   */
  override link<C extends SignatureSource>(callback: C): C {
    const first = this.tasks[0];
    if (!first)
      throw new TqError("TQ_CONFIG", "cannot link a callback to an empty group", { component: "canvas" });
    const json = "toJSON" in callback && typeof callback.toJSON === "function" ? callback.toJSON() : callback;
    first.link({ ...(json as SignatureJson), immutable: true });
    return callback;
  }

  /** Links an errback to every member (any may fail, so it may run more than once), as Celery does. */
  override linkError<C extends SignatureSource>(errback: C): C {
    for (const task of this.tasks) task.linkError(errback);
    return errback;
  }

  /** Changes every member's immutability, as Celery's `group.set_immutable`. */
  override setImmutable(immutable: boolean): this {
    for (const task of this.tasks) task.setImmutable(immutable);
    return this;
  }

  /**
   * Celery's `_freeze_group_tasks`: the group id (its own `task_id`, else the group id given, else a new
   * one), then every member frozen, flattened, with its `group_index`.
   */
  override freezeNode(params: FreezeParams): ResultNode {
    const { options } = this;
    let id = options.task_id;
    if (typeof id !== "string") {
      id = params.groupId ?? randomUUID();
      options.task_id = id;
    }
    if (params.groupId) options.group_id = params.groupId;
    if (params.chord) options.chord = params.chord;
    if (params.groupIndex !== undefined) options.group_index = params.groupIndex;
    if (params.rootId && options.root_id === undefined) options.root_id = params.rootId;
    if (params.parentId && options.parent_id === undefined) options.parent_id = params.parentId;
    const rootId = stringOr(options.root_id);
    const parentId = stringOr(options.parent_id);
    const members: AnySignature[] = [];
    const nodes: ResultNode[] = [];
    const stack = [...this.tasks];
    while (stack.length > 0) {
      const task = stack.shift()!.cloneWith([], {});
      if (task instanceof Group) {
        stack.unshift(...task.tasks);
        continue;
      }
      members.push(task);
      nodes.push(
        task.freezeNode({
          groupId: params.groupId,
          chord: params.chord,
          rootId,
          parentId,
          groupIndex: nodes.length,
        }),
      );
    }
    this.tasks = members;
    return groupNode(id as string, nodes);
  }

  /**
   * Celery's `group.apply_async`: the group id is the `task_id` option (else new); every member is
   * cloned, frozen with it and sent with the arguments prepended. When the last member belongs to a
   * chord, the chord's header size is stored first (`setChordSize`), so no member can finish before it.
   * @throws TqError `TQ_CONFIG` for a `link` or `link_error` option (link members, or use a chord).
   */
  override applyWith(
    args: readonly unknown[],
    kwargs: Record<string, unknown>,
    options: CeleryOptions,
    inherited: CanvasApp | undefined,
  ): Applied {
    const given = withoutNulls(options);
    if (given.link !== undefined) {
      throw new TqError("TQ_CONFIG", "cannot add a link to a group: use a chord", { component: "canvas" });
    }
    if (given.link_error !== undefined) {
      throw new TqError("TQ_CONFIG", "cannot add a link_error to a group: add it to its tasks", {
        component: "canvas",
      });
    }
    const app = this.boundApp(inherited);
    if (this.tasks.length === 0)
      return { node: this.cloneWith([], {}).freezeNode({}), sent: Promise.resolve() };
    const merged: CeleryOptions = { ...this.options, ...given };
    const groupId = typeof merged.task_id === "string" ? merged.task_id : randomUUID();
    delete merged.task_id;
    merged.group_id = groupId;
    const chord = merged.chord as SignatureJson | undefined;
    delete merged.chord;
    const prepared = [...prepareMembers(this.tasks, groupId, stringOr(merged.root_id))];
    // Arguments bound to the group itself (a chain's first step gets the chain's) go to every member too.
    const partial = args.length > 0 ? [...args, ...this.args] : this.args;
    const send = (): Applied[] =>
      prepared.map(([task]) => {
        const body = chord ?? (task.options.chord as SignatureJson | undefined);
        return task.applyWith(partial, kwargs, body ? { ...merged, chord: body } : merged, app);
      });
    const last = prepared.at(-1)?.[0];
    const lastChord = chord ?? last?.options.chord;
    let sent: Promise<void>;
    if (lastChord) {
      const size = prepared.reduce((sum, [task]) => sum + task.chordSize(), 0);
      sent = (async () => {
        await (await app.getBackend()).setChordSize(groupId, size);
        await Promise.all(send().map((applied) => applied.sent));
      })();
    } else {
      sent = Promise.all(send().map((applied) => applied.sent)).then(() => {});
    }
    const nodes = prepared.map(([, node]) => node);
    // Celery: a group of one member that is itself a group result is that result.
    const only = nodes.length === 1 ? nodes[0] : undefined;
    return { node: only?.members ? only : groupNode(groupId, nodes), sent };
  }
}

/** Celery's `group._prepared`: members cloned, nested groups flattened, each frozen in the group. */
function* prepareMembers(
  tasks: readonly AnySignature[],
  groupId: string,
  rootId: string | undefined,
): Generator<[AnySignature, ResultNode]> {
  for (const task of tasks) {
    const copy = task.cloneWith([], {});
    if (copy instanceof Group) {
      yield* prepareMembers(copy.tasks, groupId, rootId);
    } else {
      yield [copy, copy.freezeNode({ groupId, rootId })];
    }
  }
}

function stringOr(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/**
 * A group of signatures (Celery's `group(...)`), as arguments or as one array:
 * `group(add.s(1, 1), add.s(2, 2))` has the type `Group<[number, number]>`.
 */
export function group<const S extends readonly AnySignature[]>(
  tasks: S,
): Group<GroupResults<S>, GroupParams<S>>;
export function group<const S extends readonly AnySignature[]>(
  ...tasks: S
): Group<GroupResults<S>, GroupParams<S>>;
export function group(...tasks: unknown[]): Group {
  const list = (tasks.length === 1 && Array.isArray(tasks[0]) ? tasks[0] : tasks) as AnySignature[];
  for (const [index, task] of list.entries()) {
    if (!(task instanceof Signature)) {
      throw new TqError("TQ_CONFIG", `group member ${index} is not a signature`, { component: "canvas" });
    }
  }
  return new Group(list.map((task) => task.cloneWith([], {})));
}
