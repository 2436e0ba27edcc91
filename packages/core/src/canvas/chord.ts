import { randomUUID } from "node:crypto";
import type { AsyncResult } from "../async-result.js";
import { TqError } from "../errors.js";
import type { SignatureJson } from "../message/types.js";
import type { CanvasApp } from "./canvas-app.js";
import { Group } from "./group.js";
import type { CeleryOptions, SignatureSource } from "./options.js";
import { type ResultNode, rootNode } from "./result-node.js";
import {
  type AnySignature,
  type Applied,
  type FreezeParams,
  Signature,
  type SignatureInit,
  withoutNulls,
} from "./signature.js";
import type { CheckedBody, GroupParams, GroupResults, HandleOf, ParamsOf, ResultOf } from "./types.js";

/**
 * A group (the header) and a callback (the body) applied once with the list of the header's results,
 * in header order (Celery's `chord`, `subtask_type: "chord"`, task `celery.chord`). The header's
 * members carry the body in their message (`embed.chord`) and their `group_index`; the worker that
 * records the last result in the backend's chord counter sends the body. When a header member fails,
 * the body fails with Celery's `ChordError` and its errbacks run. Needs a result backend that keeps
 * chord counters (memory, Redis, MongoDB; not rpc://).
 */
export class Chord<P extends unknown[] = unknown[], R = unknown, H = AsyncResult<R>> extends Signature<
  P,
  R,
  H
> {
  /** The header (Celery: `kwargs.header`). */
  header: Group;
  /** The body (Celery: `kwargs.body`). */
  body: AnySignature;

  constructor(header: Group | readonly AnySignature[], body: AnySignature, init: SignatureInit = {}) {
    super("celery.chord", { kwargs: { kwargs: {} }, ...init, subtaskType: "chord" });
    this.header = header instanceof Group ? header : new Group(header);
    if (!(body instanceof Signature)) {
      throw new TqError("TQ_CONFIG", "a chord needs a body signature", { component: "canvas" });
    }
    this.body = body;
  }

  override toJSON(): SignatureJson {
    const json = super.toJSON();
    return { ...json, kwargs: { ...json.kwargs, header: this.header.toJSON(), body: this.body.toJSON() } };
  }

  protected override copy(): this {
    return new Chord(this.header.cloneWith([], {}), this.body.cloneWith([], {}), this.initFields()) as this;
  }

  protected override memberApp(): CanvasApp | undefined {
    return this.header.findApp() ?? this.body.findApp();
  }

  /** The body's: a chord inside a chord header counts as its body's results (Celery's `_descend`). */
  override chordSize(): number {
    return this.body.chordSize();
  }

  /** Links a callback to the body (Celery's `chord.link`). */
  override link<C extends SignatureSource>(callback: C): C {
    this.body.link(callback);
    return callback;
  }

  /** Links an errback to the body (Celery's `chord.link_error`). */
  override linkError<C extends SignatureSource>(errback: C): C {
    this.body.linkError(errback);
    return errback;
  }

  /** Changes the header's immutability only, as Celery's `chord.set_immutable`. */
  override setImmutable(immutable: boolean): this {
    this.header.setImmutable(immutable);
    return this;
  }

  /** Celery's `chord.freeze`: the body's result, whose first parent is the header's group result. */
  override freezeNode(params: FreezeParams): ResultNode {
    const bodyNode = this.body.freezeNode({
      id: params.id,
      rootId: params.rootId,
      chord: params.chord,
      groupId: params.groupId,
      groupIndex: params.groupIndex,
    });
    const headerNode = this.header.freezeNode({
      parentId: params.parentId,
      rootId: params.rootId,
      chord: this.body.toJSON(),
    });
    rootNode(bodyNode).parent = headerNode;
    this.options.task_id = this.header.options.task_id;
    return bodyNode;
  }

  /**
   * Celery's `chord.apply_async` and `run`: the body gets the call's options (a chain's remaining
   * steps among them) and is frozen; the header is frozen with it as every member's `chord`, and sent
   * with the arguments prepended. An empty header sends the body at once with `[]`.
   */
  override applyWith(
    args: readonly unknown[],
    kwargs: Record<string, unknown>,
    options: CeleryOptions,
    inherited: CanvasApp | undefined,
  ): Applied {
    const app = this.boundApp(inherited);
    // Celery's partial arguments: prepended unless immutable.
    const [partial] = this.merge(args, {});
    const given = withoutNulls(options);
    const bodySource = kwargs.body instanceof Signature ? kwargs.body : this.body;
    const body = bodySource.cloneWith([], {}, given);
    const header = this.header.cloneWith([], {});
    const merged: CeleryOptions = { ...this.options, ...given };
    const taskId = typeof merged.task_id === "string" ? merged.task_id : undefined;
    delete merged.task_id;
    const groupId = typeof header.options.task_id === "string" ? header.options.task_id : randomUUID();
    const rootId = typeof body.options.root_id === "string" ? body.options.root_id : undefined;
    Object.assign(body.options, merged);
    const bodyNode = body.freezeNode({ id: taskId, rootId });
    // The chain goes on after the body, not after every header member; a nested chord's body is its own.
    delete merged.chain;
    delete merged.chord;
    const headerNode = header.freezeNode({ groupId, chord: body.toJSON(), rootId });
    rootNode(bodyNode).parent = headerNode;
    const sent =
      header.tasks.length > 0
        ? header.applyWith(partial, {}, { ...merged, task_id: groupId }, app).sent
        : body.applyWith([[]], {}, {}, app).sent;
    return { node: bodyNode, sent };
  }
}

/**
 * A chord (Celery's `chord(header, body)`): the header is a group or a list of signatures, the body a
 * signature that takes the list of their results as its first remaining argument, which the compiler
 * checks: `chord([add.s(1, 1), add.s(2, 2)], tsum.s())`.
 */
export function chord<const S extends readonly AnySignature[], B extends AnySignature>(
  header: S,
  body: CheckedBody<B, GroupResults<S>>,
): Chord<GroupParams<S>, ResultOf<B>, HandleOf<B>>;
export function chord<G extends Group<unknown[], unknown[]>, B extends AnySignature>(
  header: G,
  body: CheckedBody<B, ResultOf<G>>,
): Chord<ParamsOf<G>, ResultOf<B>, HandleOf<B>>;
export function chord(header: Group | readonly AnySignature[], body: AnySignature): Chord {
  const members = header instanceof Group ? header.tasks : header;
  for (const [index, task] of members.entries()) {
    if (!(task instanceof Signature)) {
      throw new TqError("TQ_CONFIG", `chord header member ${index} is not a signature`, {
        component: "canvas",
      });
    }
  }
  const copy =
    header instanceof Group ? header.cloneWith([], {}) : new Group(members.map((t) => t.cloneWith([], {})));
  return new Chord(copy, body.cloneWith([], {}));
}
