import { AsyncLocalStorage } from "node:async_hooks";
import type { TaskMessage } from "./message/types.js";

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
