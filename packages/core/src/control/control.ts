import { constants } from "node:os";
import type { Broker } from "../broker.js";
import { TqError } from "../errors.js";
import { parseRateLimit } from "../rate-limit.js";
import { LamportClock } from "./lamport-clock.js";
import { type ControlRequest, encodeControlRequest, pidboxExchange } from "./pidbox-message.js";

/** Which nodes a control command is for. Unset: every worker listening on the broker. */
export interface ControlTargetOptions {
  /** Node names (`celery@host`); only these workers act. Celery: `destination`. */
  destination?: string | readonly string[];
  /** A node-name pattern; workers whose name matches act. Celery: `pattern`. */
  pattern?: string;
  /** How {@link pattern} matches: `glob` (fnmatch) or `pcre` (regular expression from the start). Celery: `matcher`. @default "glob" */
  matcher?: "glob" | "pcre";
}

/** Options of {@link Control.revoke}. */
export interface RevokeOptions extends ControlTargetOptions {
  /**
   * Also stop the task if it is running: its `signal` is aborted and, in the `threads` and `processes`
   * pools, its thread or process is killed. Celery: `terminate`. @default false
   */
  terminate?: boolean;
  /**
   * Signal name for `terminate`, upper case with or without `SIG` (`SIGTERM`, `KILL`). Celery:
   * `signal`. @default "SIGTERM"
   */
  signal?: string;
}

/** Where a {@link Control} sends: the app's broker and its `controlExchange` setting. */
export interface ControlSource {
  getBroker(): Promise<Broker>;
  readonly conf: { readonly controlExchange: string };
}

/** How long kombu's broadcast waits for replies by default: the `expires` header is now + this. */
const DEFAULT_TIMEOUT_SECONDS = 1;

/**
 * Remote control of workers over the broker's broadcast (Celery's `app.control`): commands go to the
 * `<controlExchange>.pidbox` fanout exchange in Celery's format, so Celery workers obey tq's commands
 * and tq workers obey Celery's. Commands are sent without waiting for replies (kombu's "cast").
 *
 * Needs a broker with `capabilities.broadcast` (Redis, AMQP, MongoDB, memory); on others (SQS) every
 * command rejects with `TQ_CONFIG`.
 */
export class Control {
  /** The clock stamped on every request (`clock` header). */
  readonly clock = new LamportClock();
  readonly #source: ControlSource;

  constructor(source: ControlSource) {
    this.#source = source;
  }

  /** The exchange commands are sent to, e.g. `celery.pidbox`. */
  get exchange(): string {
    return pidboxExchange(this.#source.conf.controlExchange);
  }

  /**
   * Revokes tasks by id (Celery's `app.control.revoke`): workers that hold or later receive them do not
   * run them and store REVOKED; with `terminate`, a running one is stopped. Workers remember revoked
   * ids for 3 hours (at most 50,000), and across restarts only with `--statedb`: a worker started later
   * does not learn of earlier revokes.
   */
  async revoke(taskId: string | readonly string[], options: RevokeOptions = {}): Promise<void> {
    const ids = typeof taskId === "string" ? [taskId] : [...taskId];
    if (ids.length === 0 || ids.some((id) => typeof id !== "string" || id === "")) {
      throw configError("revoke needs task ids (non-empty strings)");
    }
    const signal = options.signal ?? "SIGTERM";
    checkSignal(signal);
    await this.broadcast(
      "revoke",
      // One id travels as a string, several as a list, as Celery sends them.
      { task_id: typeof taskId === "string" ? taskId : ids, terminate: options.terminate ?? false, signal },
      options,
    );
  }

  /**
   * Changes a task type's rate limit on the workers at run time (Celery's `app.control.rate_limit`):
   * `"10/s"`, `"100/m"`, `"1000/h"`, a number of tasks per second (`"5"`), or null for no limit.
   */
  async rateLimit(
    taskName: string,
    rate: string | number | null,
    options: ControlTargetOptions = {},
  ): Promise<void> {
    if (typeof taskName !== "string" || taskName === "") throw configError("rateLimit needs a task name");
    // The same check as the workers', so that nothing is broadcast that they would refuse.
    parseRateLimit(rate, `task "${taskName}"`);
    await this.broadcast("rate_limit", { task_name: taskName, rate_limit: rate }, options);
  }

  /**
   * Sends any control command to the workers without waiting for replies (kombu's `Mailbox._broadcast`
   * with `reply=False`), e.g. `broadcast("shutdown", {}, { destination: ["celery@host"] })`.
   */
  async broadcast(
    method: string,
    args: Record<string, unknown> = {},
    options: ControlTargetOptions = {},
  ): Promise<void> {
    const request = controlRequest(method, args, options);
    const broker = await this.#source.getBroker();
    if (!broker.capabilities.broadcast || !broker.broadcast) {
      throw configError(
        `remote control (${method}) needs a broker with broadcast, such as Redis, AMQP or MongoDB; this broker has none`,
      );
    }
    const message = encodeControlRequest({
      request,
      clock: this.clock.forward(),
      expires: Date.now() / 1000 + DEFAULT_TIMEOUT_SECONDS,
    });
    await broker.broadcast(this.exchange, message);
  }
}

function controlRequest(
  method: string,
  args: Record<string, unknown>,
  options: ControlTargetOptions,
): ControlRequest {
  if (typeof method !== "string" || method === "") throw configError("a control command needs a method name");
  const destination =
    options.destination === undefined
      ? null
      : typeof options.destination === "string"
        ? [options.destination]
        : [...options.destination];
  // Celery reads an empty destination as "every node": refused rather than sent to all by surprise.
  if (
    destination &&
    (destination.length === 0 || destination.some((node) => typeof node !== "string" || node === ""))
  ) {
    throw configError("destination must name at least one node (omit it to address every worker)");
  }
  const matcher = options.matcher ?? (options.pattern === undefined ? null : "glob");
  if (matcher !== null && matcher !== "glob" && matcher !== "pcre") {
    throw configError(`matcher must be "glob" or "pcre", got "${String(matcher)}"`);
  }
  if (matcher === "pcre" && options.pattern !== undefined) {
    try {
      new RegExp(options.pattern);
    } catch (cause) {
      throw new TqError("TQ_CONFIG", `pattern /${options.pattern}/ is not a regular expression`, {
        component: "control",
        cause,
      });
    }
  }
  return {
    method,
    arguments: args,
    destination,
    pattern: options.pattern ?? null,
    matcher: options.pattern === undefined ? null : matcher,
  };
}

// Celery's worker takes upper-case names with or without SIG (`_signals.signum`); checked here so a
// typo fails at the caller rather than in a worker's log.
function checkSignal(signal: string): void {
  const name = typeof signal === "string" && !signal.startsWith("SIG") ? `SIG${signal}` : signal;
  if (typeof signal !== "string" || signal !== signal.toUpperCase() || !(name in constants.signals)) {
    throw configError(
      `signal must be an upper-case signal name such as "SIGTERM" or "KILL", got "${signal}"`,
    );
  }
}

function configError(message: string): TqError {
  return new TqError("TQ_CONFIG", message, { component: "control" });
}
