import { InvalidArgumentError } from "commander";

// Option value parsers for commander. Each throws InvalidArgumentError, which commander turns into
// one `tq: option '--x <v>' argument 'y' is invalid. …` line.

/** `-c 8`: an integer ≥ 1. */
export function parsePositiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError("expected an integer ≥ 1");
  return number;
}

/** `--priority 5`: an integer ≥ 0. */
export function parseNonNegativeInteger(value: string): number {
  const number = Number(value);
  if (value.trim() === "" || !Number.isInteger(number) || number < 0) {
    throw new InvalidArgumentError("expected an integer ≥ 0");
  }
  return number;
}

/** `--countdown 1.5`: seconds, Celery's unit, ≥ 0. */
export function parseSeconds(value: string): number {
  const number = Number(value);
  if (value.trim() === "" || !Number.isFinite(number) || number < 0) {
    throw new InvalidArgumentError("expected a number of seconds ≥ 0");
  }
  return number;
}

/** `--heartbeat-interval 0.5`: seconds, > 0. */
export function parsePositiveNumber(value: string): number {
  const number = Number(value);
  if (value.trim() === "" || !Number.isFinite(number) || number <= 0) {
    throw new InvalidArgumentError("expected a number > 0");
  }
  return number;
}

const POOLS: Readonly<Record<string, "async" | "solo" | "threads" | "processes">> = {
  async: "async",
  solo: "solo",
  threads: "threads",
  processes: "processes",
  // Celery's name for its pool of child processes.
  prefork: "processes",
};

/** `-P processes`: a pool name; Celery's `prefork` means `processes`. */
export function parsePool(value: string): "async" | "solo" | "threads" | "processes" {
  const name = value.toLowerCase();
  const pool = Object.hasOwn(POOLS, name) ? POOLS[name] : undefined;
  if (pool === undefined) {
    throw new InvalidArgumentError("expected one of async, solo, threads, processes (or prefork)");
  }
  return pool;
}

/** `--autoscale 10,3`: `max,min` (or `max` alone, min 0), as Celery's, as `[max, min]`. */
export function parseAutoscale(value: string): [max: number, min: number] {
  const parts = value.split(",").map((part) => part.trim());
  const [max, min = 0] = parts.map(Number);
  const integer = (n: number | undefined): n is number => n !== undefined && Number.isInteger(n);
  const valid = parts.length <= 2 && parts.every((part) => part !== "") && integer(max) && integer(min);
  if (!valid || max < 1 || min < 0 || min > max) {
    throw new InvalidArgumentError("expected max,min with integers max ≥ 1 and 0 ≤ min ≤ max, e.g. 10,3");
  }
  return [max, min];
}

/** `--eta 2030-01-01T10:00:00Z`: an ISO 8601 date. */
export function parseIsoDate(value: string): Date {
  const date = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(date.getTime())) {
    throw new InvalidArgumentError("expected an ISO 8601 date such as 2030-01-01T10:00:00Z");
  }
  return date;
}

/** `-Q a,b`: a comma-separated list of non-empty names, without duplicates. */
export function parseList(value: string): string[] {
  const items = [...new Set(value.split(",").map((item) => item.trim()))];
  if (items.length === 0 || items.some((item) => item === "")) {
    throw new InvalidArgumentError("expected comma-separated names, e.g. celery,images");
  }
  return items;
}

/** `--args '[2, 3]'`: a JSON array. */
export function parseJsonArray(value: string): unknown[] {
  const parsed = parseJson(value);
  if (!Array.isArray(parsed)) throw new InvalidArgumentError("expected a JSON array, e.g. '[2, 3]'");
  return parsed;
}

/** `--kwargs '{"x": 2}'`: a JSON object. */
export function parseJsonObject(value: string): Record<string, unknown> {
  const parsed = parseJson(value);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new InvalidArgumentError(`expected a JSON object, e.g. '{"x": 2}'`);
  }
  return parsed as Record<string, unknown>;
}

// Celery's level names next to pino's, so `-l INFO` and `-l warning` work as they do with celery.
const LOG_LEVELS: Readonly<Record<string, string>> = {
  trace: "trace",
  debug: "debug",
  info: "info",
  warn: "warn",
  warning: "warn",
  error: "error",
  fatal: "fatal",
  critical: "fatal",
  silent: "silent",
};

/** `-l info`: a log level, Celery's names (any case) or pino's. */
export function parseLogLevel(value: string): string {
  const level = LOG_LEVELS[value.toLowerCase()];
  if (level === undefined) {
    throw new InvalidArgumentError("expected one of trace, debug, info, warning, error, critical, silent");
  }
  return level;
}

function parseJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch (error) {
    throw new InvalidArgumentError(
      `not valid JSON (${error instanceof Error ? error.message : String(error)})`,
    );
  }
}
