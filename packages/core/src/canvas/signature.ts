import { randomUUID } from "node:crypto";
import type { AsyncResult } from "../async-result.js";
import { TqError } from "../errors.js";
import type { SignatureJson } from "../message/types.js";
import type { CanvasApp } from "./canvas-app.js";
import {
  type CeleryOptions,
  type SignatureOptions,
  type SignatureSource,
  sendOptionsOf,
  signatureJson,
  toCeleryOptions,
} from "./options.js";
import { type ResultNode, taskNode, toHandle } from "./result-node.js";
import type { SignatureTypes } from "./types.js";

/** The parts of a signature besides its task name; Celery's defaults when left out. */
export interface SignatureInit {
  /** Positional arguments bound so far. @default [] */
  args?: readonly unknown[];
  /** Keyword arguments bound so far. @default {} */
  kwargs?: Record<string, unknown>;
  /** Call options, under Celery's names (`task_id`, `countdown`, `link`…). @default {} */
  options?: CeleryOptions;
  /** Celery's `subtask_type`: null for a task, `chain`, `group`, `chord`, `xmap`… @default null */
  subtaskType?: string | null;
  /** Ignore the arguments a chain or a callback would prepend (Celery's `si()`). @default false */
  immutable?: boolean;
  /** Keys of a received dict other than the six (e.g. `chord_size`), kept as they are. */
  extra?: Record<string, unknown>;
  /** The app that sends it. @default none: the app of the workflow it is applied in */
  app?: CanvasApp | undefined;
}

/** What `freeze` assigns, Celery's `freeze(_id, group_id, chord, root_id, parent_id, group_index)`. */
export interface FreezeParams {
  id?: string | undefined;
  groupId?: string | undefined;
  chord?: SignatureJson | undefined;
  rootId?: string | undefined;
  parentId?: string | undefined;
  groupIndex?: number | undefined;
}

/** What applying a signature started: the ids of its results, and the publishing of its messages. */
export interface Applied {
  /** The results to be. */
  node: ResultNode;
  /** Settles once every message this application sends was published (rejects if one was not). */
  sent: Promise<void>;
}

/** Options of {@link Signature.set}: call options plus `immutable`. */
export interface SetOptions extends SignatureOptions {
  /** Make the signature ignore (true) or take (false) the arguments a chain prepends. */
  immutable?: boolean;
}

/**
 * A task call to be made: the task's name, the arguments bound so far and call options (Celery's
 * `Signature`, what `add.s(2, 2)` makes). Serializes to Celery's signature dict (`toJSON()`), so
 * workflows pass between tq and Python Celery. `P` is what it still takes, `R` what it returns, `H` the
 * handle `applyAsync()` gives. Applying it sends a message; arguments given then are prepended to the
 * bound ones unless it is immutable, as Celery does.
 */
export class Signature<P extends unknown[] = unknown[], R = unknown, H = AsyncResult<R>> {
  /** Compile-time types; never set at run time. */
  declare readonly "~types"?: SignatureTypes<P, R, H>;
  /** The task's registered name (Celery: `task`). */
  task: string;
  /** Positional arguments bound so far (Celery: `args`). */
  args: unknown[];
  /** Keyword arguments bound so far (Celery: `kwargs`). */
  kwargs: Record<string, unknown>;
  /** Call options under Celery's names (Celery: `options`). */
  options: CeleryOptions;
  /** null for a task; `chain`, `group`, `chord`, `xmap`, `xstarmap`, `chunks` (Celery: `subtask_type`). */
  subtaskType: string | null;
  /** True when prepended arguments are ignored (Celery: `immutable`). */
  immutable: boolean;
  /** Other keys of the dict it was read from. */
  readonly extra: Record<string, unknown>;
  /** The app that sends it, if bound. */
  app: CanvasApp | undefined;

  constructor(task: string, init: SignatureInit = {}) {
    if (typeof task !== "string" || task === "") {
      throw new TqError("TQ_CONFIG", "a signature needs a task name", { component: "canvas" });
    }
    this.task = task;
    this.args = [...(init.args ?? [])];
    this.kwargs = { ...(init.kwargs ?? {}) };
    this.options = { ...(init.options ?? {}) };
    this.subtaskType = init.subtaskType ?? null;
    this.immutable = init.immutable ?? false;
    this.extra = { ...(init.extra ?? {}) };
    this.app = init.app;
  }

  /** The task id, once frozen or set (Celery: `sig.id`, `options.task_id`). */
  get id(): string | undefined {
    const id = this.options.task_id;
    return typeof id === "string" ? id : undefined;
  }

  /** Same as {@link task} (Celery: `sig.name`). */
  get name(): string {
    return this.task;
  }

  /** Sets call options (and `immutable`) on this signature and returns it (Celery's `.set(...)`). */
  set(options: SetOptions): this {
    const { immutable, ...rest } = options;
    if (immutable !== undefined) this.setImmutable(immutable);
    Object.assign(this.options, toCeleryOptions(rest));
    return this;
  }

  /** Makes the signature ignore (or take) prepended arguments (Celery's `set_immutable`). */
  setImmutable(immutable: boolean): this {
    this.immutable = immutable;
    return this;
  }

  /**
   * A copy, with `args` prepended to the bound arguments (unless immutable), `kwargs` and `options`
   * merged in (Celery's `clone`/`partial`). Nested signatures are copied too.
   */
  clone(
    args: readonly unknown[] = [],
    kwargs: Record<string, unknown> = {},
    options?: SignatureOptions,
  ): this {
    return this.cloneWith(args, kwargs, options ? toCeleryOptions(options) : undefined);
  }

  /** {@link clone} with options under Celery's names. */
  cloneWith(args: readonly unknown[], kwargs: Record<string, unknown>, options?: CeleryOptions): this {
    const [mergedArgs, mergedKwargs, mergedOptions] =
      args.length > 0 || Object.keys(kwargs).length > 0 || options
        ? this.merge(args, kwargs, options)
        : [this.args, this.kwargs, this.options];
    const copy = this.copy();
    copy.args = [...mergedArgs];
    copy.kwargs = { ...mergedKwargs };
    copy.options = structuredClone(mergedOptions);
    return copy;
  }

  /**
   * Celery's `_merge`: prepended arguments (none when immutable), merged keyword arguments, and options
   * where the given ones win, except a `group_id` the signature already has.
   */
  merge(
    args: readonly unknown[],
    kwargs: Record<string, unknown>,
    options?: CeleryOptions,
  ): [unknown[], Record<string, unknown>, CeleryOptions] {
    let merged = this.options;
    if (options) {
      merged = { ...this.options };
      for (const [key, value] of Object.entries(options)) {
        if (key !== "group_id" || !("group_id" in this.options)) merged[key] = value;
      }
    }
    if (this.immutable) return [this.args, this.kwargs, merged];
    return [
      args.length > 0 ? [...args, ...this.args] : this.args,
      Object.keys(kwargs).length > 0 ? { ...this.kwargs, ...kwargs } : this.kwargs,
      merged,
    ];
  }

  /**
   * Adds a callback, applied with this task's result when it succeeds (Celery's `link`, the message's
   * `embed.callbacks`). Returns the callback, as Celery does.
   */
  link<C extends SignatureSource>(callback: C): C {
    this.appendOption("link", callback);
    return callback;
  }

  /**
   * Adds an errback, applied when this task fails (Celery's `link_error`, `embed.errbacks`): with the
   * failed task's id as first argument, or, for a task registered on the worker whose function takes
   * more than one parameter, called there with `(request, error, traceback)`. Returns the errback.
   */
  linkError<C extends SignatureSource>(errback: C): C {
    this.appendOption("link_error", errback);
    return errback;
  }

  /** {@link linkError} that returns this signature, for chaining (Celery's `on_error`). */
  onError(errback: SignatureSource): this {
    this.linkError(errback);
    return this;
  }

  /**
   * Assigns the task id (and the given workflow ids) now, without sending anything, and returns the
   * result handle the call will have (Celery's `freeze`).
   */
  freeze(options: { taskId?: string; groupId?: string; rootId?: string; parentId?: string } = {}): H {
    const node = this.freezeNode({
      id: options.taskId,
      groupId: options.groupId,
      rootId: options.rootId,
      parentId: options.parentId,
    });
    return toHandle(node, this.boundApp(undefined), Promise.resolve()) as H;
  }

  /** Celery's `freeze` on the Celery-named fields; returns the result ids. */
  freezeNode(params: FreezeParams): ResultNode {
    const { options } = this;
    let id = options.task_id;
    if (typeof id !== "string") {
      id = params.id ?? randomUUID();
      options.task_id = id;
    }
    if (params.rootId) options.root_id = params.rootId;
    if (params.parentId) options.parent_id = params.parentId;
    if (params.groupId && !("group_id" in options)) options.group_id = params.groupId;
    if (params.chord) options.chord = params.chord;
    if (params.groupIndex !== undefined) options.group_index = params.groupIndex;
    return taskNode(id as string);
  }

  /**
   * Sends the task (Celery's `apply_async`): `args` are prepended to the bound ones (unless immutable),
   * `kwargs` and `options` merged in. Returns at once; the handle's `sent` settles once published.
   * @throws TqError `TQ_CONFIG` when the signature is bound to no app, or for a bad option.
   */
  applyAsync(args?: P, kwargs: Record<string, unknown> = {}, options: SignatureOptions = {}): H {
    const app = this.boundApp(undefined);
    const applied = this.applyWith(args ?? [], kwargs, toCeleryOptions(options), app);
    return toHandle(applied.node, app, applied.sent) as H;
  }

  /** Sends the task with these arguments prepended (Celery's `delay`). */
  delay(...args: P): H {
    return this.applyAsync(args);
  }

  /**
   * {@link applyAsync} with options under Celery's names and the app of the enclosing workflow: what
   * chains, groups, chords and a worker applying a message's callbacks call.
   */
  applyWith(
    args: readonly unknown[],
    kwargs: Record<string, unknown>,
    options: CeleryOptions,
    app: CanvasApp | undefined,
  ): Applied {
    const sender = this.boundApp(app);
    const given = withoutNulls(options);
    const [mergedArgs, mergedKwargs, mergedOptions] =
      args.length > 0 || Object.keys(kwargs).length > 0 || Object.keys(given).length > 0
        ? this.merge(args, kwargs, given)
        : [this.args, this.kwargs, this.options];
    const sendOptions = sendOptionsOf(mergedOptions);
    const id = sendOptions.taskId ?? randomUUID();
    sendOptions.taskId = id;
    // A registered task is sent with its own options under the call's (Celery: `signature.type.apply_async`).
    const registered = sender.tasks.get(this.task);
    const result = registered
      ? registered.applyAsync(mergedArgs, mergedKwargs, sendOptions)
      : sender.sendTask(this.task, mergedArgs, mergedKwargs, sendOptions);
    return { node: taskNode(id), sent: result.sent.then(() => {}) };
  }

  /** How many results this signature adds to a chord header it is part of (Celery's `_descend`). */
  chordSize(): number {
    return 1;
  }

  /** Celery's signature dict: `task`, `args`, `kwargs`, `options`, `subtask_type`, `immutable`. */
  toJSON(): SignatureJson {
    return {
      ...this.extra,
      task: this.task,
      args: [...this.args],
      kwargs: { ...this.kwargs },
      options: { ...this.options },
      subtask_type: this.subtaskType,
      immutable: this.immutable,
    };
  }

  /** A new signature of the same kind, structure and app, for {@link cloneWith} to fill. */
  protected copy(): this {
    return new Signature(this.task, this.initFields()) as this;
  }

  /** The fields {@link copy} carries over. */
  protected initFields(): SignatureInit {
    return { subtaskType: this.subtaskType, immutable: this.immutable, extra: this.extra, app: this.app };
  }

  /** The app that sends it: its own, else the workflow's, else the first one a member is bound to. */
  boundApp(inherited: CanvasApp | undefined): CanvasApp {
    const app = this.app ?? inherited ?? this.memberApp();
    if (!app) {
      throw new TqError(
        "TQ_CONFIG",
        `signature of "${this.task}" is bound to no app: make it with task.s(...) or signature(name, { app })`,
        { component: "canvas" },
      );
    }
    return app;
  }

  /** Its app, or the first one a member (of a chain, group or chord) is bound to. */
  findApp(): CanvasApp | undefined {
    return this.app ?? this.memberApp();
  }

  /** The app of the first bound member, for workflows made of signatures only. */
  protected memberApp(): CanvasApp | undefined {
    return undefined;
  }

  protected appendOption(name: "link" | "link_error", source: SignatureSource): void {
    const json = signatureJson(source);
    const current = this.options[name];
    const list: unknown[] = Array.isArray(current) ? [...current] : current ? [current] : [];
    const text = JSON.stringify(json);
    if (!list.some((item) => JSON.stringify(item) === text)) list.push(json);
    this.options[name] = list;
  }
}

/** Any signature, chain, group or chord, whatever its types. */
export type AnySignature = Signature<unknown[], unknown, unknown>;

/** Celery drops options set to None before applying. */
export function withoutNulls(options: CeleryOptions): CeleryOptions {
  const out: CeleryOptions = {};
  for (const [key, value] of Object.entries(options)) {
    if (value !== null && value !== undefined) out[key] = value;
  }
  return out;
}
