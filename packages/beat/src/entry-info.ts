import type { ScheduleEntryState } from "@tq/core";
import type { BeatEntry } from "./entry.js";
import type { ScheduleBook } from "./schedule-book.js";

/** One entry as `listEntries()` and `tq beat --list` show it. */
export interface BeatEntryInfo {
  name: string;
  task: string;
  /** The schedule, as text (`every 30 seconds`, `<crontab: 50 10 * * * (m/h/d/dM/MY)>`). */
  schedule: string;
  /** The time zone its wall-clock schedule is read in. */
  timezone: string;
  /** `config` (the app's `beatSchedule` or beat's `entries`) or `store` (added at run time). */
  source: "config" | "store";
  /** When it last ran (or when beat first saw it); null when no beat has seen it yet. */
  lastRunAt: Date | null;
  /** Runs sent so far. */
  totalRunCount: number;
  /** When it runs next; null when never again. */
  nextRunAt: Date | null;
}

/**
 * Entries with their last and next runs, soonest first. An entry no beat has seen yet is shown with
 * the next run it would get if beat first saw it now.
 */
export function describeEntries(
  rows: readonly { entry: BeatEntry; state: ScheduleEntryState | undefined }[],
  book: ScheduleBook,
  timezone: string,
  now: number,
): BeatEntryInfo[] {
  return rows
    .map(({ entry, state }): BeatEntryInfo => {
      const next = book.nextRun(entry, state?.lastRunAt ?? now);
      return {
        name: entry.name,
        task: entry.task,
        schedule: String(entry.schedule),
        timezone: entry.timezone ?? timezone,
        source: entry.source,
        lastRunAt: state ? new Date(state.lastRunAt) : null,
        totalRunCount: state?.totalRunCount ?? 0,
        nextRunAt: next === null ? null : new Date(next),
      };
    })
    .sort((a, b) => (a.nextRunAt?.getTime() ?? Infinity) - (b.nextRunAt?.getTime() ?? Infinity));
}
