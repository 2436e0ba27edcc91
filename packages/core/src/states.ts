/** Task states, named as Celery names them (and stored under these names on the wire). */
export const TaskState = {
  /** No record of the task: not sent yet, unknown, or its result expired. */
  PENDING: "PENDING",
  /** A worker received the task. */
  RECEIVED: "RECEIVED",
  /** A worker started running it (stored when `trackStarted` is on). */
  STARTED: "STARTED",
  /** It returned a value. */
  SUCCESS: "SUCCESS",
  /** It threw, or ran out of retries. */
  FAILURE: "FAILURE",
  /** It asked to be retried. */
  RETRY: "RETRY",
  /** It was revoked before or while running. */
  REVOKED: "REVOKED",
  /** It was rejected (the `Reject` control error). */
  REJECTED: "REJECTED",
  /** It chose to be ignored (the `Ignore` control error). */
  IGNORED: "IGNORED",
} as const;

/** A built-in state, or any custom state a task reports (e.g. `"PROGRESS"`). */
export type TaskStateName = (typeof TaskState)[keyof typeof TaskState] | (string & {});

/** States after which a task's outcome no longer changes. */
export const READY_STATES: ReadonlySet<string> = new Set(["SUCCESS", "FAILURE", "REVOKED"]);
/** States that count as failures. */
export const EXCEPTION_STATES: ReadonlySet<string> = new Set(["RETRY", "FAILURE", "REVOKED"]);

/** True once the state will not change any more. */
export function isReadyState(state: string): boolean {
  return READY_STATES.has(state);
}
