import { TqError } from "@tq/core";

/**
 * One crontab field as Celery takes it: `"*"`, `"*\/15"`, `"0-5,10"`, `"1-10/3"`, `"mon-fri"`,
 * `"fri-mon"` (a range may wrap), a number, or a list of numbers.
 */
export type CrontabField = string | number | readonly number[];

/** A crontab field's bounds and names. */
export interface FieldSpec {
  /** Field name as the error messages call it (`minute`, `dayOfWeek`…). */
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Names accepted for values (`mon`, `jan`), matched on their first three letters. */
  readonly names?: Readonly<Record<string, number>>;
}

const WEEKDAYS = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 } as const;
const MONTHS = {
  jan: 1,
  feb: 2,
  mar: 3,
  apr: 4,
  may: 5,
  jun: 6,
  jul: 7,
  aug: 8,
  sep: 9,
  oct: 10,
  nov: 11,
  dec: 12,
} as const;

/** The five fields, with Celery's bounds (day of week 0-6 from Sunday; 7 is taken as Sunday too). */
export const FIELDS = {
  minute: { name: "minute", min: 0, max: 59 },
  hour: { name: "hour", min: 0, max: 23 },
  dayOfWeek: { name: "dayOfWeek", min: 0, max: 7, names: WEEKDAYS },
  dayOfMonth: { name: "dayOfMonth", min: 1, max: 31 },
  monthOfYear: { name: "monthOfYear", min: 1, max: 12, names: MONTHS },
} as const satisfies Record<string, FieldSpec>;

/**
 * Expands a field into its sorted values, as Celery's `crontab_parser`: a step picks every n-th value
 * of the range it follows (`1-10/3` → 1, 4, 7, 10), a range whose end is below its start wraps
 * (`fri-mon` → 5, 6, 0, 1). Throws `TQ_CONFIG` naming the field for anything out of range.
 */
export function expandField(value: CrontabField, spec: FieldSpec): number[] {
  const values = new Set<number>();
  if (typeof value === "number") values.add(checked(value, spec, value));
  else if (typeof value === "string") {
    for (const part of value.split(",")) {
      for (const number of expandPart(part.trim(), spec, value)) values.add(number);
    }
  } else if (Array.isArray(value)) {
    for (const number of value) values.add(checked(number, spec, value));
    if (values.size === 0) throw fieldError(spec, value, "an empty list matches nothing");
  } else {
    throw fieldError(spec, value, "expected a string, a number or a list of numbers");
  }
  // Sunday is 0 for Celery and 0 or 7 for cron: keep one.
  if (spec.name === "dayOfWeek" && values.delete(7)) values.add(0);
  return [...values].sort((a, b) => a - b);
}

function expandPart(part: string, spec: FieldSpec, whole: unknown): number[] {
  if (part === "") throw fieldError(spec, whole, "empty part");
  const [range = "", stepText, extra] = part.split("/");
  if (extra !== undefined) throw fieldError(spec, whole, `"${part}" has two steps`);
  const step = stepText === undefined ? 1 : Number(stepText);
  if (!Number.isInteger(step) || step < 1) throw fieldError(spec, whole, `bad step in "${part}"`);
  let expanded: number[];
  if (range === "*") expanded = span(spec.min, spec.name === "dayOfWeek" ? 6 : spec.max);
  else if (range.includes("-")) {
    const [fromText = "", toText = ""] = range.split("-");
    const from = number(fromText, spec, whole);
    const to = number(toText, spec, whole);
    const top = spec.name === "dayOfWeek" ? 6 : spec.max;
    expanded = to >= from ? span(from, to) : [...span(from, top), ...span(spec.min, to)];
  } else {
    const from = number(range, spec, whole);
    // `5/15` is cron's "from 5, every 15" (Celery has no such form).
    expanded = stepText === undefined ? [from] : span(from, spec.max);
  }
  return expanded.filter((_, index) => index % step === 0);
}

function number(text: string, spec: FieldSpec, whole: unknown): number {
  if (/^\d+$/.test(text)) return checked(Number(text), spec, whole);
  const named = spec.names?.[text.slice(0, 3).toLowerCase()];
  if (named === undefined || text.length < 3) throw fieldError(spec, whole, `"${text}" is not a value`);
  return named;
}

function checked(value: number, spec: FieldSpec, whole: unknown): number {
  if (!Number.isInteger(value) || value < spec.min || value > spec.max) {
    throw fieldError(spec, whole, `${value} is outside ${spec.min}-${spec.max}`);
  }
  return value;
}

function span(from: number, to: number): number[] {
  const out: number[] = [];
  for (let value = from; value <= to; value += 1) out.push(value);
  return out;
}

function fieldError(spec: FieldSpec, value: unknown, reason: string): TqError {
  return new TqError("TQ_CONFIG", `crontab ${spec.name} ${JSON.stringify(value)}: ${reason}`, {
    component: "beat",
  });
}
