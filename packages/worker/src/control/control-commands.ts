import { type Logger, TqError } from "@tq/core";
import type { Revocations } from "../revocation/revocations.js";
import type { ControlHandler } from "./pidbox-node.js";

/** What the control commands act on: the worker's revoked ids and its rate limits. */
export interface ControlTarget {
  readonly revocations: Revocations;
  /** Changes a task's rate limit (the worker's `setRateLimit`); throws `TQ_CONFIG` for bad input. */
  setRateLimit(taskName: string, rate: string | number | null): void;
}

/**
 * The control commands a tq worker carries out, by Celery's method names and arguments
 * (`celery/worker/control.py`): `revoke` `{task_id, terminate, signal}` and `rate_limit`
 * `{task_name, rate_limit}`. Bad arguments are logged as Celery's worker logs them, never thrown at
 * the broker.
 */
export function controlCommands(target: ControlTarget, logger: Logger): ReadonlyMap<string, ControlHandler> {
  return new Map<string, ControlHandler>([
    ["revoke", (args) => revoke(target, args)],
    ["rate_limit", (args) => rateLimit(target, args, logger)],
  ]);
}

function revoke(target: ControlTarget, args: Record<string, unknown>): void {
  // Celery's maybe_list: one id or a list of ids.
  const raw = args.task_id;
  const ids = (Array.isArray(raw) ? raw : [raw]).filter(
    (id): id is string => typeof id === "string" && id !== "",
  );
  if (ids.length === 0)
    throw invalid(`revoke needs task_id (an id or a list of ids), got ${JSON.stringify(raw)}`);
  const signal = typeof args.signal === "string" ? args.signal : null;
  target.revocations.revoke(ids, { terminate: args.terminate === true, signal });
}

function rateLimit(target: ControlTarget, args: Record<string, unknown>, logger: Logger): void {
  const taskName = args.task_name;
  const rate = args.rate_limit;
  if (typeof taskName !== "string" || taskName === "") {
    throw invalid(`rate_limit needs task_name, got ${JSON.stringify(taskName)}`);
  }
  if (rate !== null && rate !== undefined && typeof rate !== "string" && typeof rate !== "number") {
    throw invalid(`rate_limit of ${taskName} is ${JSON.stringify(rate)}, not a rate`);
  }
  try {
    target.setRateLimit(taskName, rate ?? null);
  } catch (error) {
    // Celery replies "unknown task" / "Invalid rate limit string" and logs; nothing else changes.
    if (!TqError.is(error, "TQ_CONFIG")) throw error;
    logger.error(`rate limit not changed: ${error.message}`, { "tq.task_name": taskName });
  }
}

function invalid(message: string): TqError {
  return new TqError("TQ_MESSAGE_INVALID", message, { component: "worker" });
}
