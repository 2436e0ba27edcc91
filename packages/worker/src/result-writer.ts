import type { App, Logger, TaskStateName } from "@tq/core";
import { buildTaskMeta, type MetaSubject } from "./task-meta.js";

/** A task whose states may be stored. */
export interface ResultTarget extends MetaSubject {
  /** False when results are ignored for it (message header, task option or app setting). */
  storesResult: boolean;
}

/**
 * Writes result documents. A write that fails is logged and reported, never thrown: a
 * backend outage must not stop the worker from taking tasks.
 */
export class ResultWriter {
  readonly #app: App;
  readonly #hostname: string;
  readonly #logger: Logger;

  constructor(app: App, hostname: string, logger: Logger) {
    this.#app = app;
    this.#hostname = hostname;
    this.#logger = logger;
  }

  /**
   * Stores a state unless results are ignored or the app has no backend. Resolves to the error when
   * the write failed (already logged), else null.
   */
  async store(
    target: ResultTarget,
    status: TaskStateName,
    result: unknown,
    traceback: string | null = null,
  ): Promise<unknown> {
    if (!target.storesResult || !this.#app.hasResultBackend) return null;
    const { conf } = this.#app;
    const meta = buildTaskMeta(target, status, result, traceback, {
      hostname: this.#hostname,
      extended: conf.resultExtended,
    });
    try {
      const backend = await this.#app.getBackend();
      const { reply_to: replyTo, correlation_id: correlationId } = target.message.properties;
      await backend.store(meta, {
        expiresMs: conf.resultExpires === null ? null : conf.resultExpires * 1000,
        ...(typeof replyTo === "string" && replyTo !== "" ? { replyTo } : {}),
        ...(typeof correlationId === "string" && correlationId !== "" ? { correlationId } : {}),
      });
      return null;
    } catch (error) {
      this.#logger.error(`could not store the ${status} state of a task`, {
        "tq.task_id": target.message.id,
        "tq.task_name": target.message.task,
        "tq.queue": target.queue,
        error,
      });
      return error;
    }
  }
}
