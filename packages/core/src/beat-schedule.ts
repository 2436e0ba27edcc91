/**
 * The types of Celery's `beat_schedule` setting. `@tq/beat` reads them and sends the tasks; core only
 * declares them so that an app can carry its periodic tasks (`createApp({ beatSchedule })`) without
 * depending on the scheduler.
 */

/**
 * When a periodic task runs. `@tq/beat`'s `every()`, `crontab()` and `solar()` return one; any object
 * with these members works too (Celery lets a custom `schedule` subclass do the same).
 */
export interface Schedule {
  /** What kind of schedule this is, for logs and listings: `every`, `crontab`, `solar`, or your own. */
  readonly kind: string;
  /**
   * The first run time strictly after `afterMs` (ms since the epoch), or null when the schedule never
   * runs again. `timezone` is the IANA zone of the entry (or of the app) for schedules that read a wall
   * clock; others ignore it.
   */
  nextRunAfter(afterMs: number, timezone: string): number | null;
  /**
   * The schedule as JSON, so that an entry added at run time can be kept in a schedule store and read
   * back by another beat process: `@tq/beat`'s `scheduleFromJSON()` turns it back into a schedule.
   */
  toJSON(): BeatScheduleJSON;
  /** Human-readable, e.g. `every 30 seconds` or `<crontab: 50 10 * * * (m/h/dM/MY/d)>`. */
  toString(): string;
}

/**
 * A schedule in JSON: a number of seconds (`30`), a duration (`"30s"`, `"5m"`, `"1h30m"`), a crontab
 * line (`"50 10 * * *"`, `"@daily"`), or an object naming its kind (`{ "kind": "crontab", "minute": "50",
 * "hour": "10" }`). This is what `TQ_BEAT_SCHEDULE` and a schedule store hold.
 */
export type BeatScheduleJSON = number | string | { readonly kind: string; readonly [field: string]: unknown };

/** How beat sends an entry's task: the `apply_async` options of Celery's `beat_schedule` entries. */
export interface BeatEntryOptions {
  /** Queue to send to. */
  queue?: string;
  /** Exchange; `""` routes straight to the queue. */
  exchange?: string;
  /** Routing key; defaults to the queue name. */
  routingKey?: string;
  /** Message priority. */
  priority?: number;
  /** The message expires this many seconds after it was sent, or at this date. Celery: `expires`. */
  expires?: number | Date;
  /** Run no earlier than this many seconds after it was sent. */
  countdown?: number;
  /** Extra message headers. Beat always adds `periodic_task_name` (django-celery-beat's header). */
  headers?: Record<string, unknown>;
  /** Hard time limit, seconds. */
  timeLimit?: number;
  /** Soft time limit, seconds. */
  softTimeLimit?: number;
  /** Store no result. */
  ignoreResult?: boolean;
  /** Serializer name. */
  serializer?: string;
}

/**
 * One periodic task, as an entry of Celery's `beat_schedule`:
 * `{ task: "tasks.add", schedule: 30, args: [16, 16] }`.
 */
export interface BeatScheduleEntry {
  /** Name of the task to send. */
  task: string;
  /**
   * When: a {@link Schedule} (`every(30)`, `crontab({ hour: 10, minute: 50 })`), a number of seconds,
   * a duration string (`"30s"`) or a crontab line (`"50 10 * * *"`).
   */
  schedule: Schedule | BeatScheduleJSON;
  /** Positional arguments. @default [] */
  args?: unknown[];
  /** Keyword arguments. @default {} */
  kwargs?: Record<string, unknown>;
  /** Send options: queue, priority, expires… */
  options?: BeatEntryOptions;
  /**
   * IANA time zone for this entry's wall-clock schedule (crontab, cron line). A `crontab({ timezone })`
   * of its own wins over it. @default the app's `timezone`
   */
  timezone?: string;
}
