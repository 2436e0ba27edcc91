import { type ErrorClass, Retry, type RetryOptions, type Task, TqError } from "@tq/core";

/** What {@link exponentialBackoffSeconds} computes from. */
export interface BackoffOptions {
  /** Seconds of the first delay (`retryBackoff`). */
  readonly factor: number;
  /** Retries before this one (the request's `retries`). */
  readonly retries: number;
  /** Longest delay, seconds (`retryBackoffMax`). */
  readonly maximum: number;
  /** Pick a random delay between 0 and the computed one (`retryJitter`). */
  readonly fullJitter: boolean;
}

/**
 * Celery's `get_exponential_backoff_interval`: `min(maximum, factor * 2 ** retries)` seconds, or with
 * full jitter a random whole number of seconds in [0, that] (Python's `randrange(countdown + 1)`). A
 * delay that is not a whole number (a fractional factor, which Celery cannot express) is jittered to
 * a random millisecond in [0, that] instead.
 */
export function exponentialBackoffSeconds(
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const { factor, retries, maximum, fullJitter } = options;
  if (!(factor > 0)) return 0;
  let countdown = Math.min(maximum, factor * 2 ** retries);
  if (fullJitter) {
    countdown = Number.isInteger(countdown)
      ? Math.floor(random() * (countdown + 1))
      : Math.round(random() * countdown * 1000) / 1000;
  }
  return Math.max(0, countdown);
}

/**
 * Celery's `autoretry_for` (`celery.app.autoretry`): when the task's function threw an error that
 * `autoretryFor` matches and `dontAutoretryFor` does not, returns the `Retry` that `task.retry({ exc:
 * error, ...retryKwargs })` would throw, its countdown from `retryBackoff` when set; otherwise returns
 * the error as it was. `Retry`, `Ignore` and `Reject` (the task's own decisions) and
 * `UnrecoverableError` are never turned into a retry.
 */
export function autoretry(
  task: Task,
  retries: number,
  error: unknown,
  random: () => number = Math.random,
): unknown {
  const { autoretryFor, dontAutoretryFor, retryKwargs, retryBackoff, retryBackoffMax, retryJitter } =
    task.options;
  if (autoretryFor === undefined || autoretryFor.length === 0) return error;
  if (isTaskDecision(error) || isNamed(error, "UnrecoverableError")) return error;
  if (dontAutoretryFor?.some((errorClass) => matchesClass(errorClass, error))) return error;
  if (!autoretryFor.some((entry) => matchesEntry(task, entry, error))) return error;
  const options: RetryOptions = { exc: error };
  if (retryKwargs?.countdown !== undefined) options.countdown = retryKwargs.countdown;
  if (retryKwargs?.maxRetries !== undefined) options.maxRetries = retryKwargs.maxRetries;
  const factor =
    retryBackoff === true ? 1 : retryBackoff === false || retryBackoff === undefined ? 0 : retryBackoff;
  if (factor > 0) {
    options.countdown = exponentialBackoffSeconds(
      { factor, retries, maximum: retryBackoffMax ?? 600, fullJitter: retryJitter ?? true },
      random,
    );
  }
  return new Retry(options);
}

function isTaskDecision(error: unknown): boolean {
  return TqError.is(error, "TQ_RETRY") || TqError.is(error, "TQ_IGNORE") || TqError.is(error, "TQ_REJECT");
}

function matchesEntry(
  task: Task,
  entry: ErrorClass | ((error: unknown) => boolean),
  error: unknown,
): boolean {
  if (isErrorClass(entry)) return matchesClass(entry, error);
  try {
    return (entry as (error: unknown) => boolean)(error) === true;
  } catch (predicateError) {
    throw new TqError(
      "TQ_CONFIG",
      `task "${task.name}": an autoretryFor predicate threw (${describe(predicateError)}) while looking at ${describe(error)}`,
      { cause: predicateError },
    );
  }
}

// A class has an Error prototype; any other function in the list is a predicate.
function isErrorClass(entry: unknown): entry is ErrorClass {
  if (typeof entry !== "function") return false;
  const prototype: unknown = entry.prototype;
  return entry === Error || prototype instanceof Error;
}

/**
 * `instanceof`, or by name: a class from another copy of a module (or an error rebuilt after crossing
 * a thread or process boundary) has the same name but not the same identity.
 */
function matchesClass(errorClass: ErrorClass, error: unknown): boolean {
  if (error instanceof errorClass) return true;
  const name = errorClass.name;
  return name !== "" && isNamed(error, name);
}

function isNamed(error: unknown, name: string): boolean {
  if (typeof error !== "object" || error === null) return false;
  if ((error as { name?: unknown }).name === name) return true;
  for (let proto = Object.getPrototypeOf(error); proto !== null && proto !== Object.prototype; ) {
    if ((proto as { constructor?: { name?: unknown } }).constructor?.name === name) return true;
    proto = Object.getPrototypeOf(proto);
  }
  return false;
}

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return String(value);
  } catch {
    return typeof value;
  }
}
