import type { SignatureJson } from "../message/types.js";
import type { CanvasApp } from "./canvas-app.js";
import { type AnySignature, Signature, type SignatureInit } from "./signature.js";

/**
 * A signature whose work is a list of other signatures, kept in Celery's `kwargs.tasks`: the common
 * part of {@link Chain} (`celery.chain`) and {@link Group} (`celery.group`).
 */
export abstract class SignatureList<P extends unknown[], R, H> extends Signature<P, R, H> {
  /** The steps or members, in order (Celery: `kwargs.tasks`). */
  tasks: AnySignature[];

  constructor(
    task: "celery.chain" | "celery.group",
    tasks: readonly AnySignature[],
    init: SignatureInit & { subtaskType: "chain" | "group" },
  ) {
    super(task, init);
    this.tasks = [...tasks];
  }

  override toJSON(): SignatureJson {
    const json = super.toJSON();
    return { ...json, kwargs: { ...json.kwargs, tasks: this.tasks.map((task) => task.toJSON()) } };
  }

  /** Fresh copies of the members, for {@link Signature.clone}. */
  protected copiedTasks(): AnySignature[] {
    return this.tasks.map((task) => task.cloneWith([], {}));
  }

  // The app of the first member that knows one.
  protected override memberApp(): CanvasApp | undefined {
    for (const task of this.tasks) {
      const app = task.findApp();
      if (app) return app;
    }
    return undefined;
  }
}
