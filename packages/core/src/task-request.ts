import { AsyncLocalStorage } from "node:async_hooks";
import { TqError } from "./errors.js";
import type { TaskMessage } from "./message/types.js";
import type { TaskStateName } from "./states.js";

/**
 * How the broker delivered a task message: Celery's `request.delivery_info`. Where a broker does not
 * report the exchange and routing key, they are the default exchange `""` and the queue's name, which
 * is how Celery and tq publish tasks unless routed otherwise.
 */
export interface DeliveryInfo {
  /** Exchange the message was published to; `""` is the default exchange. */
  readonly exchange: string;
  /** Routing key it was published with (the queue name on the default exchange). */
  readonly routingKey: string;
  /** The message's priority property, or null when it has none. */
  readonly priority: number | null;
  /** True when the broker delivered it before (Celery's `redelivered`). */
  readonly redelivered: boolean;
}

/**
 * What a running task knows about its own call: Celery's `self.request`. Read it with
 * {@link currentTask} from inside the task function (it follows async calls).
 */
export interface TaskRequest {
  /** Task id. */
  readonly id: string;
  /** Registered task name. */
  readonly name: string;
  /** Positional arguments as received. */
  readonly args: readonly unknown[];
  /** Keyword arguments as received. */
  readonly kwargs: Readonly<Record<string, unknown>>;
  /** How many times it was retried before this run. */
  readonly retries: number;
  /** Id of the first task of the workflow. */
  readonly rootId: string;
  /** Id of the task that sent it. */
  readonly parentId: string | null;
  /** Group id, for group members. */
  readonly groupId: string | null;
  /** Not before. */
  readonly eta: Date | null;
  /** Not after. */
  readonly expires: Date | null;
  /** Worker node name, e.g. `celery@host`. */
  readonly hostname: string;
  /** Queue it was consumed from. */
  readonly queue: string;
  /** True when the broker delivered it before. */
  readonly redelivered: boolean;
  /** Every message header, unknown ones included. */
  readonly headers: Readonly<Record<string, unknown>>;
  /** The decoded message. */
  readonly message: TaskMessage;
  /**
   * Aborted when the task must stop: its time limit passed, it was revoked with terminate, or the
   * worker is shutting down past its deadline. Pass it on to fetch, timers and drivers.
   */
  readonly signal: AbortSignal;
  /** How the broker delivered the message (Celery's `request.delivery_info`). */
  readonly deliveryInfo: DeliveryInfo;
  /**
   * Stores a state document for this task in the result backend, Celery's
   * `self.update_state(state="PROGRESS", meta={...})`: `meta` becomes the document's `result`, so
   * `AsyncResult.state()` returns `state` and `AsyncResult.info()` returns `meta` while the task runs.
   * Any state name works (custom ones included); the task's final state replaces it. Stored even when
   * results are ignored, as Celery does. Rejects with `TQ_CONFIG` when the app has no result backend,
   * or with the backend's error.
   */
  updateState(state: TaskStateName, meta?: unknown): Promise<void>;
}

// Kept on globalThis under a Symbol.for key, like the transport registry, so that an app module
// loaded through another copy of @tq/core (a global CLI, a TS loader) still sees the worker's request.
const storageKey = Symbol.for("tq.current-task.v1");
const holder = globalThis as unknown as Record<symbol, AsyncLocalStorage<TaskRequest> | undefined>;
function storage(): AsyncLocalStorage<TaskRequest> {
  let current = holder[storageKey];
  if (!current) {
    current = new AsyncLocalStorage<TaskRequest>();
    holder[storageKey] = current;
  }
  return current;
}

/** The request of the task running in this async context, or undefined outside a task. */
export function currentTask(): TaskRequest | undefined {
  return storage().getStore();
}

/** Runs `fn` with `request` as the current task. Used by workers. */
export function runWithTaskRequest<T>(request: TaskRequest, fn: () => T): T {
  return storage().run(request, fn);
}

/**
 * Stores a state for the task running in this async context: `updateState("PROGRESS", { current, total })`
 * is Celery's `self.update_state(...)`; see {@link TaskRequest.updateState}. Rejects with code
 * `TQ_NO_CURRENT_TASK` when called outside a task.
 */
export function updateState(state: TaskStateName, meta?: unknown): Promise<void> {
  const request = currentTask();
  if (!request) {
    return Promise.reject(
      new TqError("TQ_NO_CURRENT_TASK", `updateState("${state}") was called outside a running task`),
    );
  }
  return request.updateState(state, meta);
}
