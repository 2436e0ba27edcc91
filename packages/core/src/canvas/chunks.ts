import { TqError } from "../errors.js";
import type { SignatureJson } from "../message/types.js";
import type { CanvasApp } from "./canvas-app.js";
import { Group } from "./group.js";
import type { GroupResult } from "./group-result.js";
import { XStarMap } from "./map.js";
import { type CeleryOptions, type SignatureSource, signatureJson } from "./options.js";
import { type Applied, Signature, type SignatureInit, withoutNulls } from "./signature.js";

/**
 * A long list of argument lists split into parts of `n`, each part one `celery.starmap` message, all
 * sent as a group (Celery's `chunks`, task `celery.chunks`): `add.chunks(pairs, 10)`. `get()` gives
 * one list of results per part.
 */
export class Chunks<R = unknown> extends Signature<unknown[], R[][], GroupResult<R[][]>> {
  constructor(
    task: SignatureSource,
    items: Iterable<readonly unknown[]>,
    n: number,
    init: SignatureInit = {},
  ) {
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new TqError("TQ_CONFIG", `chunks needs a part size n ≥ 1, got ${n}`, { component: "canvas" });
    }
    super("celery.chunks", {
      ...init,
      kwargs: { task: signatureJson(task), it: [...items].map((item) => [...item]), n },
      immutable: true,
      subtaskType: "chunks",
    });
  }

  /** The task each part calls. */
  get mapped(): SignatureJson {
    return this.kwargs.task as SignatureJson;
  }

  protected override copy(): this {
    return new Chunks(
      this.mapped,
      this.kwargs.it as unknown[][],
      this.kwargs.n as number,
      this.initFields(),
    ) as this;
  }

  /** The group of `celery.starmap` signatures, one per part (Celery's `chunks.group()`). */
  group(): Group<R[][]> {
    const items = this.kwargs.it as unknown[][];
    const n = this.kwargs.n as number;
    const parts: XStarMap<R>[] = [];
    for (let start = 0; start < items.length; start += n) {
      parts.push(new XStarMap<R>(this.mapped, items.slice(start, start + n), { app: this.app }));
    }
    return new Group<R[][]>(parts, { app: this.app });
  }

  /** Sends the parts as a group (Celery's `chunks.apply_async`); its id is this signature's `task_id`. */
  override applyWith(
    args: readonly unknown[],
    kwargs: Record<string, unknown>,
    options: CeleryOptions,
    inherited: CanvasApp | undefined,
  ): Applied {
    const app = this.boundApp(inherited);
    return this.group().applyWith(args, kwargs, { ...this.options, ...withoutNulls(options) }, app);
  }
}

/** Celery's `chunks(task, it, n)`, `task.chunks(it, n)`. */
export function chunks<R>(
  task: Signature<unknown[], R, unknown>,
  items: Iterable<readonly unknown[]>,
  n: number,
): Chunks<R> {
  return new Chunks<R>(task, items, n, { app: task.findApp() });
}
