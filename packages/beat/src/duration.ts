import { TqError } from "@tq/core";

/** A length of time as Python's `timedelta` spells it; the parts add up. */
export interface DurationParts {
  days?: number;
  hours?: number;
  minutes?: number;
  seconds?: number;
  milliseconds?: number;
}

/** A number of seconds (Celery's unit), a string such as `"30s"`, `"5m"`, `"1h30m"`, `"500ms"`, or parts. */
export type Duration = number | string | DurationParts;

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};
const PART_MS: Readonly<Record<keyof DurationParts, number>> = {
  days: 86_400_000,
  hours: 3_600_000,
  minutes: 60_000,
  seconds: 1000,
  milliseconds: 1,
};

/**
 * A duration in ms, checked: positive and finite. A bare number or numeric string is seconds, as in
 * Celery (`schedule: 30.0`). Throws `TQ_CONFIG` naming `what` otherwise.
 */
export function durationMs(value: Duration, what = "interval"): number {
  const ms = parse(value, what);
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new TqError("TQ_CONFIG", `${what} must be a positive duration, got ${JSON.stringify(value)}`, {
      component: "beat",
    });
  }
  return ms;
}

function parse(value: Duration, what: string): number {
  if (typeof value === "number") return value * 1000;
  if (typeof value === "string") return parseText(value, what);
  if (typeof value !== "object" || value === null) return Number.NaN;
  let total = 0;
  for (const [key, amount] of Object.entries(value)) {
    const unit = PART_MS[key as keyof DurationParts];
    if (unit === undefined) {
      throw new TqError(
        "TQ_CONFIG",
        `${what}: unknown duration part "${key}" (use ${Object.keys(PART_MS).join(", ")})`,
        { component: "beat" },
      );
    }
    if (typeof amount !== "number" || !Number.isFinite(amount) || amount < 0) return Number.NaN;
    total += amount * unit;
  }
  return total;
}

function parseText(text: string, what: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const part = /\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)/gy;
  let total = 0;
  let end = 0;
  for (const match of trimmed.matchAll(part)) {
    total += Number(match[1]) * (UNIT_MS[match[2] as string] as number);
    end = (match.index ?? 0) + match[0].length;
  }
  if (end === 0 || end !== trimmed.length) {
    throw new TqError(
      "TQ_CONFIG",
      `${what}: "${text}" is not a duration (write it as "30s", "5m", "1h30m", "2d" or "500ms")`,
      { component: "beat" },
    );
  }
  return total;
}

/** `30000` → `30 seconds`, `90000` → `1.5 minutes`: Celery's `humanize_seconds` style. */
export function describeDuration(ms: number): string {
  for (const [unit, size] of [
    ["day", 86_400_000],
    ["hour", 3_600_000],
    ["minute", 60_000],
    ["second", 1000],
  ] as const) {
    if (ms >= size) {
      const amount = Math.round((ms / size) * 100) / 100;
      return `${amount} ${unit}${amount === 1 ? "" : "s"}`;
    }
  }
  return `${ms} ms`;
}
