import type { Schedule } from "@tq/core";
import { checkTimezone, TqError } from "@tq/core";
import { cronNext } from "./cron-next.js";
import { type CrontabField, expandField, FIELDS } from "./crontab-fields.js";

/** The fields of {@link crontab}, named as Celery's `crontab()` arguments. Each defaults to `"*"`. */
export interface CrontabFields {
  /** 0-59. Celery: `minute`. */
  minute?: CrontabField;
  /** 0-23. Celery: `hour`. */
  hour?: CrontabField;
  /** 0-6 from Sunday (7 is Sunday too), or `sun`…`sat`. Celery: `day_of_week`. */
  dayOfWeek?: CrontabField;
  /** 1-31. Celery: `day_of_month`. */
  dayOfMonth?: CrontabField;
  /** 1-12, or `jan`…`dec`. Celery: `month_of_year`. */
  monthOfYear?: CrontabField;
  /** IANA time zone the fields are read in. @default the entry's `timezone`, else the app's */
  timezone?: string;
}

/** Options of `crontab(line, options)`. */
export interface CrontabLineOptions {
  /** IANA time zone the line is read in. @default the entry's `timezone`, else the app's */
  timezone?: string;
}

type FieldName = Exclude<keyof CrontabFields, "timezone">;
const ORDER: readonly FieldName[] = ["minute", "hour", "dayOfMonth", "monthOfYear", "dayOfWeek"];

/**
 * Runs at wall-clock times in a time zone: Celery's `crontab`. Next times come from cron-parser, which
 * follows the zone's daylight-saving rules: a time skipped by a spring-forward (02:30 on that day) runs
 * once, at the same offset after the jump (03:30); a time that happens twice at a fall-back runs once,
 * at its first occurrence.
 *
 * Built from fields (`crontab({ hour: 10, minute: 50 })`), it reads them as Celery does, including
 * Celery's rule that a day must match **both** `dayOfMonth` and `dayOfWeek` when both are restricted
 * (`{ dayOfMonth: 13, dayOfWeek: "fri" }` is Friday the 13th). Built from a line
 * (`crontab("50 10 * * *")`), it is cron-parser's syntax (optional seconds field, `L`, `#`, `@daily`…)
 * and cron's rule that either day field may match.
 */
export class CrontabSchedule implements Schedule {
  readonly kind = "crontab";
  /** The zone given to this schedule, if any. */
  readonly timezone: string | undefined;
  /** The expression handed to cron-parser. */
  readonly expression: string;
  readonly #fields: Readonly<Record<FieldName, string>> | undefined;
  /** Weekdays a run must also fall on: set only when both day fields are restricted (Celery's rule). */
  readonly #alsoWeekdays: ReadonlySet<number> | undefined;

  constructor(source: CrontabFields | string, options: CrontabLineOptions = {}) {
    const timezone = typeof source === "string" ? options.timezone : source.timezone;
    if (timezone !== undefined) checkTimezone(timezone, "crontab timezone");
    this.timezone = timezone;
    if (typeof source === "string") {
      if (source.trim() === "") throw configError("a crontab line must not be empty");
      this.expression = source.trim();
      this.#fields = undefined;
      this.#alsoWeekdays = undefined;
    } else {
      const fields = {} as Record<FieldName, string>;
      const expanded = {} as Record<FieldName, number[]>;
      for (const name of ORDER) {
        const value = source[name] ?? "*";
        fields[name] = Array.isArray(value) ? value.join(",") : String(value);
        expanded[name] = expandField(value, FIELDS[name]);
      }
      this.#fields = fields;
      const full = (name: FieldName) =>
        expanded[name].length === (name === "dayOfWeek" ? 7 : FIELDS[name].max - FIELDS[name].min + 1);
      const both = !full("dayOfMonth") && !full("dayOfWeek");
      this.#alsoWeekdays = both ? new Set(expanded.dayOfWeek) : undefined;
      this.expression = ORDER.map((name) =>
        full(name) || (both && name === "dayOfWeek") ? "*" : expanded[name].join(","),
      ).join(" ");
    }
    // Fail now, not at the first tick: a syntax error, or a date that never comes (February 30).
    let first: number | null;
    try {
      first = cronNext(this.expression, this.timezone ?? "UTC", Date.now(), this.#alsoWeekdays, true);
    } catch (cause) {
      throw configError(`${this.toString()}: ${(cause as Error).message}`, cause);
    }
    if (first === null) throw configError(`${this.toString()} never matches a date`);
  }

  nextRunAfter(afterMs: number, timezone: string): number | null {
    return cronNext(this.expression, this.timezone ?? timezone, afterMs, this.#alsoWeekdays, false);
  }

  toJSON(): { kind: "crontab"; [field: string]: unknown } {
    const zone = this.timezone === undefined ? {} : { timezone: this.timezone };
    if (!this.#fields) return { kind: "crontab", line: this.expression, ...zone };
    return { kind: "crontab", ...this.#fields, ...zone };
  }

  /** Celery's repr for fields (`<crontab: 50 10 * * * (m/h/d/dM/MY)>`), the line as given otherwise. */
  toString(): string {
    const zone = this.timezone === undefined ? "" : ` ${this.timezone}`;
    const f = this.#fields;
    if (!f) return `<crontab: ${this.expression}${zone}>`;
    return `<crontab: ${f.minute} ${f.hour} ${f.dayOfWeek} ${f.dayOfMonth} ${f.monthOfYear} (m/h/d/dM/MY)${zone}>`;
  }
}

/**
 * A crontab schedule, from Celery-style fields or a cron line:
 * `crontab({ minute: 50, hour: 10 })`, `crontab({ minute: "*\/15", dayOfWeek: "mon-fri" })`,
 * `crontab("50 10 * * *", { timezone: "Asia/Shanghai" })`. Throws `TQ_CONFIG` for a field out of range,
 * a line cron-parser refuses, or a schedule that never matches a date.
 */
export function crontab(fields?: CrontabFields): CrontabSchedule;
export function crontab(line: string, options?: CrontabLineOptions): CrontabSchedule;
export function crontab(source: CrontabFields | string = {}, options?: CrontabLineOptions): CrontabSchedule {
  return new CrontabSchedule(source, options);
}

function configError(message: string, cause?: unknown): TqError {
  return new TqError("TQ_CONFIG", message, { component: "beat", ...(cause ? { cause } : {}) });
}
