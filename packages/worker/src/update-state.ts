import { type App, noBackendError, type TaskRequest, type TaskStateName, TqError } from "@tq/core";
import type { StateUpdater } from "./build-request.js";
import { buildTaskMeta } from "./task-meta.js";

/**
 * The `updateState` of the requests a worker (or a pool's child, with its own app) builds: stores
 * `{status: state, result: meta}` for the request's task in the app's result backend, as Celery's
 * `Task.update_state` calls `backend.store_result(task_id, meta, state)`. Unlike the worker's own
 * state writes it rejects on failure, since the task asked for it and may want to know; and it stores
 * even when the task's results are ignored, as Celery's does.
 */
export function createStateUpdater(app: App, hostname: string): StateUpdater {
  return async (request: TaskRequest, state: TaskStateName, meta: unknown): Promise<void> => {
    if (typeof state !== "string" || state === "") {
      throw new TqError("TQ_CONFIG", `updateState needs a state name, got ${String(state)}`);
    }
    if (!app.hasResultBackend) throw noBackendError();
    const { conf } = app;
    const document = buildTaskMeta(
      { message: request.message, queue: request.queue },
      state,
      meta === undefined ? null : meta,
      null,
      { hostname, extended: conf.resultExtended },
    );
    const { reply_to: replyTo, correlation_id: correlationId } = request.message.properties;
    const backend = await app.getBackend();
    await backend.store(document, {
      expiresMs: conf.resultExpires === null ? null : conf.resultExpires * 1000,
      // An rpc:// caller receives the progress on its reply queue, as Celery's rpc backend sends it.
      ...(typeof replyTo === "string" && replyTo !== "" ? { replyTo } : {}),
      ...(typeof correlationId === "string" && correlationId !== "" ? { correlationId } : {}),
    });
  };
}
