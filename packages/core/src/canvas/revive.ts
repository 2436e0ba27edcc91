/**
 * Signatures from Celery's dicts (Celery's `Signature.from_dict`/`maybe_signature`): the `subtask_type`
 * picks the class, nested canvas (a chain's tasks, a chord's header and body) is read too. This is how
 * a worker reads the callbacks, chain steps and chord bodies a message carries, from tq or Python.
 */
import { TqError } from "../errors.js";
import { readSignature } from "../message/embed.js";
import type { SignatureJson } from "../message/types.js";
import type { CanvasApp } from "./canvas-app.js";
import { Chain } from "./chain.js";
import { Chord } from "./chord.js";
import { Chunks } from "./chunks.js";
import { Group } from "./group.js";
import { XMap, XStarMap } from "./map.js";
import { type SignatureOptions, toCeleryOptions } from "./options.js";
import { type AnySignature, Signature, type SignatureInit } from "./signature.js";

const KNOWN = new Set(["task", "args", "kwargs", "options", "subtask_type", "immutable"]);

/**
 * The signature a Celery dict describes, bound to `app` (nested ones too).
 * @throws TqError `TQ_MESSAGE_INVALID` for a dict that is no signature, an unknown `subtask_type`, or
 *   a chain, group or chord without its members.
 */
export function signatureFromJson(value: unknown, app?: CanvasApp): AnySignature {
  return revive(value, app, "signature");
}

function revive(value: unknown, app: CanvasApp | undefined, label: string): AnySignature {
  const json = readSignature(value, label);
  const extra: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(json)) if (!KNOWN.has(key)) extra[key] = item;
  const init: SignatureInit = {
    args: json.args,
    kwargs: json.kwargs,
    options: json.options,
    immutable: json.immutable,
    extra,
    app,
  };
  const { kwargs } = json;
  switch (json.subtask_type) {
    case null:
      return new Signature(json.task, init);
    case "chain":
      return new Chain(members(kwargs.tasks, app, `${label}.kwargs.tasks`), withoutKwargs(init));
    case "group":
      return new Group(members(kwargs.tasks, app, `${label}.kwargs.tasks`), withoutKwargs(init));
    case "chord": {
      const { header, body, ...rest } = kwargs;
      const head =
        Array.isArray(header) || Array.isArray((header as SignatureJson | undefined)?.kwargs?.tasks)
          ? header
          : undefined;
      if (head === undefined || body === undefined || body === null) {
        throw invalid(`${label} is a chord without a header group and a body`);
      }
      const headerGroup = Array.isArray(head)
        ? new Group(members(head, app, `${label}.kwargs.header`), { app })
        : revive(head, app, `${label}.kwargs.header`);
      if (!(headerGroup instanceof Group)) throw invalid(`${label}.kwargs.header is not a group`);
      return new Chord(headerGroup, revive(body, app, `${label}.kwargs.body`), { ...init, kwargs: rest });
    }
    case "xmap":
    case "xstarmap": {
      const task = revive(kwargs.task, app, `${label}.kwargs.task`);
      const items = arrayOf(kwargs.it, `${label}.kwargs.it`);
      return json.subtask_type === "xmap"
        ? new XMap(task, items, withoutKwargs(init))
        : new XStarMap(task, items as unknown[][], withoutKwargs(init));
    }
    case "chunks": {
      const task = revive(kwargs.task, app, `${label}.kwargs.task`);
      const n = kwargs.n;
      if (typeof n !== "number") throw invalid(`${label}.kwargs.n must be a number`);
      return new Chunks(
        task,
        arrayOf(kwargs.it, `${label}.kwargs.it`) as unknown[][],
        n,
        withoutKwargs(init),
      );
    }
    default:
      throw invalid(`${label} has an unknown subtask_type "${json.subtask_type}"`);
  }
}

function members(value: unknown, app: CanvasApp | undefined, label: string): AnySignature[] {
  return arrayOf(value, label).map((item, index) => revive(item, app, `${label}[${index}]`));
}

function arrayOf(value: unknown, label: string): unknown[] {
  if (!Array.isArray(value)) throw invalid(`${label} must be a list`);
  return value;
}

// The members are the kwargs of a chain or group dict: the class keeps them itself.
function withoutKwargs(init: SignatureInit): SignatureInit {
  const { kwargs: _kwargs, ...rest } = init;
  return rest;
}

function invalid(message: string): TqError {
  return new TqError("TQ_MESSAGE_INVALID", message, { component: "canvas" });
}

/** Options of {@link signature}. */
export interface SignatureFactoryOptions {
  /** Positional arguments to bind. */
  args?: readonly unknown[];
  /** Keyword arguments to bind. */
  kwargs?: Record<string, unknown>;
  /** Call options. */
  options?: SignatureOptions;
  /** Ignore prepended arguments (Celery's `immutable=True`, `si`). @default false */
  immutable?: boolean;
  /** The app that sends it. @default the app of the workflow it is applied in */
  app?: CanvasApp;
}

/**
 * A signature by task name, e.g. of a task another service (a Python worker) registered (Celery's
 * `signature("tasks.add", args=(2, 2))`); a Celery dict is read with {@link signatureFromJson}, a
 * signature is cloned. Its arguments are not checked, and it accepts any prepended argument.
 */
export function signature<R = unknown>(
  task: string | SignatureJson | Signature,
  options: SignatureFactoryOptions = {},
): Signature<unknown[], R> {
  if (task instanceof Signature) return task.cloneWith([], {}) as Signature<unknown[], R>;
  if (typeof task !== "string") return signatureFromJson(task, options.app) as Signature<unknown[], R>;
  return new Signature<unknown[], R>(task, {
    args: options.args ?? [],
    kwargs: options.kwargs ?? {},
    options: toCeleryOptions(options.options ?? {}),
    immutable: options.immutable ?? false,
    app: options.app,
  });
}
