import { TqError } from "./errors.js";
import type { RetryOptions } from "./task-errors.js";

// The retry settings are checked where they are written (task registration, `task.retry()`), so that
// a typo fails at once with its name rather than as a strange delay on some later retry.

/** The retry settings of a task's options, as {@link checkTaskRetryOptions} reads them. */
export interface TaskRetrySettings {
  maxRetries?: number | null;
  defaultRetryDelay?: number;
  autoretryFor?: readonly unknown[];
  dontAutoretryFor?: readonly unknown[];
  retryKwargs?: { countdown?: number; maxRetries?: number | null };
  retryBackoff?: boolean | number;
  retryBackoffMax?: number;
  retryJitter?: boolean;
}

/** Throws `TQ_CONFIG` naming the first retry setting of task `name` that is out of range. */
export function checkTaskRetryOptions(name: string, options: TaskRetrySettings): void {
  const problem = taskRetryProblem(options);
  if (problem !== undefined) throw new TqError("TQ_CONFIG", `task "${name}": ${problem}`);
}

/** Throws `TQ_CONFIG` when a `Retry`'s countdown, eta or maxRetries is out of range. */
export function checkRetryOptions(options: RetryOptions): void {
  const problem =
    seconds("countdown", options.countdown) ??
    retryCount("maxRetries", options.maxRetries) ??
    (options.eta !== undefined && !(options.eta instanceof Date && Number.isFinite(options.eta.getTime()))
      ? `eta must be a valid Date, got ${String(options.eta)}`
      : undefined);
  if (problem !== undefined) throw new TqError("TQ_CONFIG", `retry: ${problem}`);
}

function taskRetryProblem(options: TaskRetrySettings): string | undefined {
  const { retryKwargs, retryBackoff, retryJitter } = options;
  return (
    retryCount("maxRetries", options.maxRetries) ??
    seconds("defaultRetryDelay", options.defaultRetryDelay) ??
    functions("autoretryFor", options.autoretryFor) ??
    functions("dontAutoretryFor", options.dontAutoretryFor) ??
    (retryKwargs !== undefined && (typeof retryKwargs !== "object" || retryKwargs === null)
      ? "retryKwargs must be an object { countdown?, maxRetries? }"
      : undefined) ??
    seconds("retryKwargs.countdown", retryKwargs?.countdown) ??
    retryCount("retryKwargs.maxRetries", retryKwargs?.maxRetries) ??
    (retryBackoff !== undefined && typeof retryBackoff !== "boolean"
      ? seconds("retryBackoff", retryBackoff)
      : undefined) ??
    seconds("retryBackoffMax", options.retryBackoffMax) ??
    (retryJitter !== undefined && typeof retryJitter !== "boolean"
      ? `retryJitter must be a boolean, got ${String(retryJitter)}`
      : undefined)
  );
}

function seconds(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return undefined;
  return `${name} must be a finite number of seconds ≥ 0, got ${String(value)}`;
}

function retryCount(name: string, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "number" && Number.isInteger(value) && value >= 0) return undefined;
  return `${name} must be an integer ≥ 0 or null (no limit), got ${String(value)}`;
}

function functions(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value) && value.every((entry) => typeof entry === "function")) return undefined;
  return `${name} must be an array of error classes${name === "autoretryFor" ? " or predicates" : ""}`;
}
