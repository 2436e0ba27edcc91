import { TqError } from "./errors.js";

/** A rate limit as tasks and app settings give it: `"10/s"`, `"100/m"`, `"1000/h"`, a number per second, or none. */
export type RateLimit = string | number | null | undefined;

// Python's float() syntax (digits, a fraction, an exponent; spaces around), which Celery's rate() uses.
const NUMBER = /^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*$/;
const SECONDS_PER_UNIT: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600 };

/**
 * Tasks per second allowed by a rate limit, 0 meaning no limit: Celery's `celery.utils.time.rate()`.
 * `"100/m"` is 100 per minute, `"0.5/s"` one every two seconds, `"10"` (no unit) 10 per second, and
 * null, `""`, `"0"` or `0` is no limit. Anything else — an unknown unit, a number Python's `float()`
 * would refuse, a negative or infinite rate — throws a `TQ_CONFIG` TqError naming `subject` and the value.
 */
export function parseRateLimit(value: RateLimit, subject: string): number {
  if (value === null || value === undefined || value === "") return 0;
  let perSecond = Number.NaN;
  if (typeof value === "number") {
    perSecond = value;
  } else if (typeof value === "string") {
    // As Python's str.partition: the unit is everything after the first "/", and "10/" means per second.
    const slash = value.indexOf("/");
    const count = slash === -1 ? value : value.slice(0, slash);
    const unit = slash === -1 ? "" : value.slice(slash + 1);
    const seconds = SECONDS_PER_UNIT[unit || "s"];
    if (seconds !== undefined && NUMBER.test(count)) perSecond = Number(count) / seconds;
  }
  if (!(Number.isFinite(perSecond) && perSecond >= 0)) {
    throw new TqError(
      "TQ_CONFIG",
      `invalid rate limit ${describe(value)} of ${subject}: expected "<n>/s", "<n>/m", "<n>/h" or a number of tasks per second (≥ 0), or null for none`,
      { component: "rate-limit" },
    );
  }
  return perSecond;
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") return String(value);
  return `${typeof value} ${String(value)}`;
}
