import { randomUUID } from "node:crypto";
import { TqError } from "../errors.js";
import type { SignatureJson } from "../message/types.js";
import { matchRoute } from "../routing.js";
import type { SendTaskOptions } from "../task.js";
import type { CanvasApp } from "./canvas-app.js";
import { type CeleryOptions, type SignatureSource, sendOptionsOf, signatureJson } from "./options.js";
import { taskNode } from "./result-node.js";
import { type Applied, Signature, type SignatureInit, withoutNulls } from "./signature.js";

/**
 * One message that calls a task once per item, in the worker's process, one after the other (Celery's
 * `xmap`, task `celery.map`; `xstarmap`, task `celery.starmap`, spreads each item as the arguments).
 * Not parallel: use a group (or `chunks`) for that. Immutable: a chain's result is not passed to it.
 * Routed as the mapped task would be.
 */
export class XMap<R = unknown> extends Signature<unknown[], R[]> {
  constructor(task: SignatureSource, items: Iterable<unknown>, init: SignatureInit = {}, starmap = false) {
    super(starmap ? "celery.starmap" : "celery.map", {
      ...init,
      kwargs: { task: signatureJson(task), it: [...items] },
      immutable: true,
      subtaskType: starmap ? "xstarmap" : "xmap",
    });
  }

  /** The mapped task's signature. */
  get mapped(): SignatureJson {
    return this.kwargs.task as SignatureJson;
  }

  /** The items. */
  get items(): unknown[] {
    return this.kwargs.it as unknown[];
  }

  protected override copy(): this {
    return new XMap(this.mapped, this.items, this.initFields(), this.subtaskType === "xstarmap") as this;
  }

  /**
   * Sends `celery.map`/`celery.starmap` with kwargs `{task, it}` (its own arguments are ignored, as
   * Celery's `_basemap.apply_async` does), routed by the mapped task's name unless a queue is given.
   */
  override applyWith(
    _args: readonly unknown[],
    _kwargs: Record<string, unknown>,
    options: CeleryOptions,
    inherited: CanvasApp | undefined,
  ): Applied {
    const app = this.boundApp(inherited);
    const sendOptions = sendOptionsOf({ ...this.options, ...withoutNulls(options) });
    const id = sendOptions.taskId ?? randomUUID();
    sendOptions.taskId = id;
    routeLike(app, this.mapped.task, sendOptions);
    const result = app.sendTask(this.task, [], { task: this.mapped, it: this.items }, sendOptions);
    return { node: taskNode(id), sent: result.sent.then(() => {}) };
  }
}

/** `celery.starmap`: calls the task with each item spread as its arguments (Celery's `xstarmap`). */
export class XStarMap<R = unknown> extends XMap<R> {
  constructor(task: SignatureSource, items: Iterable<readonly unknown[]>, init: SignatureInit = {}) {
    super(task, checkedItems(items), init, true);
  }

  protected override copy(): this {
    return new XStarMap(this.mapped, this.items as unknown[][], this.initFields()) as this;
  }
}

function checkedItems(items: Iterable<readonly unknown[]>): unknown[][] {
  return [...items].map((item, index) => {
    if (!Array.isArray(item)) {
      throw new TqError("TQ_CONFIG", `starmap item ${index} must be an array of arguments`, {
        component: "canvas",
      });
    }
    return [...item];
  });
}

/** Celery's `route_name`: the route of the mapped task (its `taskRoutes` entry, else its own options). */
export function routeLike(app: CanvasApp, taskName: string, options: SendTaskOptions): void {
  if (options.queue !== undefined || options.exchange !== undefined || options.routingKey !== undefined)
    return;
  const route = matchRoute(app.conf.taskRoutes, taskName) ?? app.tasks.get(taskName)?.options;
  if (!route) return;
  if (route.queue !== undefined) options.queue = route.queue;
  if (route.exchange !== undefined) options.exchange = route.exchange;
  if (route.routingKey !== undefined) options.routingKey = route.routingKey;
  if (route.priority !== undefined && options.priority === undefined) options.priority = route.priority;
}

/** `celery.map` of a task over items (Celery's `xmap(task, it)`, `task.map(it)`). */
export function xmap<R>(task: Signature<unknown[], R, unknown>, items: Iterable<unknown>): XMap<R> {
  return new XMap<R>(task, items, { app: task.findApp() });
}

/** `celery.starmap` of a task over argument lists (Celery's `xstarmap(task, it)`, `task.starmap(it)`). */
export function xstarmap<R>(
  task: Signature<unknown[], R, unknown>,
  items: Iterable<readonly unknown[]>,
): XStarMap<R> {
  return new XStarMap<R>(task, items, { app: task.findApp() });
}
