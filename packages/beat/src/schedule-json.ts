import type { BeatScheduleJSON, Schedule } from "@tq/core";
import { TqError } from "@tq/core";
import { type CrontabFields, crontab } from "./crontab.js";
import { every } from "./every.js";
import { type SolarEvent, solar } from "./solar.js";

const DURATION = /^\s*\d+(\.\d+)?\s*$|^(\s*\d+(\.\d+)?\s*(ms|s|m|h|d))+\s*$/;

/**
 * Turns what a `beatSchedule` entry or a store holds into a {@link Schedule}: a schedule object as it
 * is, a number of seconds or a duration string (`"30s"`) into `every()`, any other string into
 * `crontab(line)`, and the JSON of `toJSON()` (`{ kind: "crontab", … }`) back into its schedule.
 * Throws `TQ_CONFIG` naming `what` for anything else.
 */
export function scheduleFromJSON(value: Schedule | BeatScheduleJSON, what = "schedule"): Schedule {
  if (typeof value === "number") return every(value);
  if (typeof value === "string") return DURATION.test(value) ? every(value) : crontab(value);
  if (typeof value !== "object" || value === null) throw configError(what, value);
  if (isSchedule(value)) return value;
  const { kind, ...fields } = value as { kind?: unknown; [field: string]: unknown };
  switch (kind) {
    case "every":
      return every(fields.seconds as number);
    case "crontab": {
      if (typeof fields.line === "string") {
        const timezone = fields.timezone as string | undefined;
        return crontab(fields.line, timezone === undefined ? {} : { timezone });
      }
      return crontab(fields as CrontabFields);
    }
    case "solar":
      return solar(fields.event as SolarEvent, fields.latitude as number, fields.longitude as number);
    default:
      throw configError(what, value);
  }
}

/** True for an object with the {@link Schedule} members. */
export function isSchedule(value: unknown): value is Schedule {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as Partial<Record<keyof Schedule, unknown>>;
  return (
    typeof candidate.kind === "string" &&
    typeof candidate.nextRunAfter === "function" &&
    typeof candidate.toJSON === "function"
  );
}

function configError(what: string, value: unknown): TqError {
  return new TqError(
    "TQ_CONFIG",
    `${what} must be a schedule (every(), crontab(), solar()), seconds, a duration such as "30s" or a crontab line, got ${JSON.stringify(value)}`,
    { component: "beat" },
  );
}
