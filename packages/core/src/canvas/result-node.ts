/**
 * The ids a workflow's results will have, known before anything is sent (Celery's `freeze`): a tree
 * of tasks and groups linked to their parents, turned into `AsyncResult`/`GroupResult` handles once
 * the messages are on their way.
 */
import { AsyncResult, type ResultSource } from "../async-result.js";
import { GroupResult } from "./group-result.js";
import type { ResultHandle } from "./types.js";

/** A result to be: a task's (no members) or a group's (members in order). */
export interface ResultNode {
  /** Task id, or group id. */
  readonly id: string;
  /** The members of a group, in order; absent for a task. */
  readonly members?: readonly ResultNode[];
  /** The result of the step before, in a chain (Celery's `result.parent`). */
  parent?: ResultNode | undefined;
}

/** The node of one task. */
export function taskNode(id: string): ResultNode {
  return { id };
}

/** The node of a group of results. */
export function groupNode(id: string, members: readonly ResultNode[]): ResultNode {
  return { id, members };
}

/** The first node of a line of parents (the header of a chord whose body is a chain, say). */
export function rootNode(node: ResultNode): ResultNode {
  const seen = new Set<ResultNode>();
  let current = node;
  while (current.parent && !seen.has(current)) {
    seen.add(current);
    current = current.parent;
  }
  return current;
}

/** The handle of a node (and of its parents): `sent` settles with `published`. */
export function toHandle(node: ResultNode, source: ResultSource, published: Promise<void>): ResultHandle {
  const handle: ResultHandle = node.members
    ? new GroupResult(
        node.id,
        node.members.map((member) => toHandle(member, source, published)),
        source,
        published,
      )
    : new AsyncResult(node.id, source, published);
  if (node.parent) handle.parent = toHandle(node.parent, source, published);
  return handle;
}

/**
 * Celery's `result.as_tuple()`: `[[id, parent], null]` for a task, `[[id, parent], [members…]]` for a
 * group; what builtins such as `celery.chunks` return and what `result_from_tuple` reads.
 */
export function resultTuple(node: ResultNode): unknown[] {
  const head = [node.id, node.parent ? resultTuple(node.parent) : null];
  return [head, node.members ? node.members.map(resultTuple) : null];
}
