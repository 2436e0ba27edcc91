import type { BeatEntryOptions, BeatScheduleEntry, Schedule, StoredBeatEntry } from "@tq/core";
import { checkTimezone, TqError } from "@tq/core";
import { scheduleFromJSON } from "./schedule-json.js";

/** A periodic entry, checked and with its schedule built. */
export interface BeatEntry {
  /** Entry name, the key of `beatSchedule` (Celery's entry name; sent as the `periodic_task_name` header). */
  readonly name: string;
  /** Task name. */
  readonly task: string;
  readonly schedule: Schedule;
  readonly args: readonly unknown[];
  readonly kwargs: Readonly<Record<string, unknown>>;
  readonly options: Readonly<BeatEntryOptions>;
  /** The entry's own time zone, if it has one. */
  readonly timezone: string | undefined;
  /** `config`: from the app's `beatSchedule` or beat's options; `store`: added at run time. */
  readonly source: "config" | "store";
}

const OPTION_NAMES = new Set<keyof BeatEntryOptions>([
  "queue",
  "exchange",
  "routingKey",
  "priority",
  "expires",
  "countdown",
  "headers",
  "timeLimit",
  "softTimeLimit",
  "ignoreResult",
  "serializer",
]);

/** Checks an entry and builds its schedule; throws `TQ_CONFIG` naming the entry. */
export function toBeatEntry(
  name: string,
  entry: BeatScheduleEntry | StoredBeatEntry,
  source: BeatEntry["source"],
): BeatEntry {
  if (typeof name !== "string" || name === "")
    throw entryError(name, "the entry name must be a non-empty string");
  if (typeof entry !== "object" || entry === null) throw entryError(name, "must be an object");
  const { task, schedule, args = [], kwargs = {}, options = {}, timezone } = entry;
  if (typeof task !== "string" || task === "") throw entryError(name, "task must be a task name");
  if (!Array.isArray(args)) throw entryError(name, "args must be an array");
  if (!isPlainObject(kwargs)) throw entryError(name, "kwargs must be an object");
  if (!isPlainObject(options)) throw entryError(name, "options must be an object");
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.has(key as keyof BeatEntryOptions)) {
      throw entryError(name, `unknown option "${key}" (known: ${[...OPTION_NAMES].join(", ")})`);
    }
  }
  if (timezone !== undefined) checkTimezone(timezone, `beat entry "${name}": timezone`);
  let built: Schedule;
  try {
    built = scheduleFromJSON(schedule, "schedule");
  } catch (error) {
    const reason = (error as Error).message.replace(/^\[tq\] \[beat\] /, "");
    throw new TqError("TQ_CONFIG", `beat entry "${name}": ${reason}`, { component: "beat", cause: error });
  }
  return {
    name,
    task,
    schedule: built,
    args: [...args],
    kwargs: { ...kwargs },
    options: { ...options },
    timezone,
    source,
  };
}

/** The app's `beatSchedule` and beat's own `entries`, checked; a name in both is a `TQ_CONFIG` error. */
export function configuredEntries(
  beatSchedule: Readonly<Record<string, BeatScheduleEntry>>,
  extra: Readonly<Record<string, BeatScheduleEntry>>,
): Map<string, BeatEntry> {
  const entries = new Map<string, BeatEntry>();
  for (const [name, entry] of Object.entries(beatSchedule))
    entries.set(name, toBeatEntry(name, entry, "config"));
  for (const [name, entry] of Object.entries(extra)) {
    if (entries.has(name)) throw entryError(name, "is in both the app's beatSchedule and beat's entries");
    entries.set(name, toBeatEntry(name, entry, "config"));
  }
  return entries;
}

/** The JSON form a store keeps; throws `TQ_CONFIG` for what JSON cannot hold (a Date `expires`). */
export function toStoredEntry(entry: BeatEntry): StoredBeatEntry {
  const { expires, ...options } = entry.options;
  if (expires instanceof Date) {
    throw entryError(entry.name, "an entry kept in a schedule store takes expires in seconds, not a Date");
  }
  const stored: StoredBeatEntry = {
    task: entry.task,
    schedule: entry.schedule.toJSON(),
    args: [...entry.args],
    kwargs: { ...entry.kwargs },
    options: expires === undefined ? options : { ...options, expires },
  };
  if (entry.timezone !== undefined) stored.timezone = entry.timezone;
  return stored;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function entryError(name: string, reason: string): TqError {
  return new TqError("TQ_CONFIG", `beat entry "${name}": ${reason}`, { component: "beat" });
}
