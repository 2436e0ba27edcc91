import type { BeatScheduleEntry } from "./beat-schedule.js";
import { TqError } from "./errors.js";

/** A route: where a task's messages go. */
export interface TaskRoute {
  /** Queue name. */
  queue?: string;
  /** Exchange; `""` (the default) routes straight to the queue. */
  exchange?: string;
  /** Routing key; defaults to the queue name. */
  routingKey?: string;
  /** Priority for messages of this route. */
  priority?: number;
}

/**
 * Application settings. Each field names the Celery setting it mirrors, so a Celery user finds it;
 * every one can also come from the environment as `TQ_<CELERY_NAME_IN_UPPER_CASE>` (e.g.
 * `TQ_BROKER_URL`, `TQ_RESULT_BACKEND`, `TQ_TASK_DEFAULT_QUEUE`, `TQ_RESULT_EXPIRES`).
 */
export interface AppConfig {
  /** Broker URL. Celery: `broker_url`. @default "memory://" */
  brokerUrl: string;
  /** Result backend URL, or null for none. Celery: `result_backend`. @default "memory://" */
  resultBackend: string | null;
  /** Queue for tasks without a route. Celery: `task_default_queue`. @default "celery" */
  taskDefaultQueue: string;
  /** Priority for messages that set none. Celery: `task_default_priority`. @default null (broker's default) */
  taskDefaultPriority: number | null;
  /** Routes by task name; `*` globs allowed (`"images.*"`). Celery: `task_routes`. @default {} */
  taskRoutes: Record<string, TaskRoute>;
  /** Serializer name for task messages. Celery: `task_serializer`. @default "json" */
  taskSerializer: string;
  /** Content types a worker accepts. Celery: `accept_content`. @default ["application/json"] */
  acceptContent: string[];
  /** Acknowledge after the task ran instead of before. Celery: `task_acks_late`. @default false */
  taskAcksLate: boolean;
  /** Store STARTED when a task begins. Celery: `task_track_started`. @default false */
  taskTrackStarted: boolean;
  /** Store no results unless a task asks to. Celery: `task_ignore_result`. @default false */
  taskIgnoreResult: boolean;
  /** Hard time limit per task, seconds. Celery: `task_time_limit`. @default null */
  taskTimeLimit: number | null;
  /** Soft time limit per task, seconds. Celery: `task_soft_time_limit`. @default null */
  taskSoftTimeLimit: number | null;
  /** Result expiry in seconds; null keeps results forever. Celery: `result_expires`. @default 86400 */
  resultExpires: number | null;
  /** Store name, args, kwargs, worker, retries and queue with results. Celery: `result_extended`. @default false */
  resultExtended: boolean;
  /** Tasks run at once per worker. Celery: `worker_concurrency`. @default 10 */
  workerConcurrency: number;
  /** Messages reserved per concurrency slot. Celery: `worker_prefetch_multiplier`. @default 4 */
  workerPrefetchMultiplier: number;
  /** How long a stopping worker waits for running tasks, seconds. @default 30 */
  workerShutdownTimeout: number;
  /**
   * Rate limit of tasks that set none (`"10/s"`, `"100/m"`, `"1000/h"`). Celery: `task_default_rate_limit`.
   * @default null (none)
   */
  taskDefaultRateLimit: string | null;
  /** With acks late, requeue a task whose thread or process died. Celery: `task_reject_on_worker_lost`. @default false */
  taskRejectOnWorkerLost: boolean;
  /** Where tasks run: `async`, `threads`, `processes` or `solo`. Celery: `worker_pool`. @default "async" */
  workerPool: string;
  /** Tasks a pool thread or process runs before it is replaced. Celery: `worker_max_tasks_per_child`. @default null */
  workerMaxTasksPerChild: number | null;
  /** Resident memory (KiB) after which a pool thread or process is replaced. Celery: `worker_max_memory_per_child`. @default null */
  workerMaxMemoryPerChild: number | null;
  /** Ignore every rate limit. Celery: `worker_disable_rate_limits`. @default false */
  workerDisableRateLimits: boolean;
  /** File that keeps revoked task ids across restarts. Celery: `worker_state_db`. @default null */
  workerStateDb: string | null;
  /**
   * Name of the remote-control exchanges: commands go to `<name>.pidbox`, replies to
   * `reply.<name>.pidbox`. Celery: `control_exchange`. @default "celery"
   */
  controlExchange: string;
  /**
   * Options handed to the broker's transport (e.g. Redis `visibilityTimeoutMs`, `keyPrefix`); each
   * transport's README lists its own. Celery: `broker_transport_options`. @default {}
   */
  brokerTransportOptions: Record<string, unknown>;
  /** Options handed to the result backend's transport. Celery: `result_backend_transport_options`. @default {} */
  resultBackendTransportOptions: Record<string, unknown>;
  /**
   * Periodic tasks by entry name, sent by `@tq/beat` (`tq beat`, `tq worker -B`):
   * `{ "add-every-30-seconds": { task: "tasks.add", schedule: 30, args: [16, 16] } }`.
   * From the environment as JSON, with schedules as seconds, durations or crontab lines.
   * Celery: `beat_schedule`. @default {}
   */
  beatSchedule: Record<string, BeatScheduleEntry>;
  /** IANA time zone of crontab schedules that name none, e.g. `Asia/Shanghai`. Celery: `timezone`. @default "UTC" */
  timezone: string;
  /** File where beat keeps last-run times when no schedule store URL is given. Celery: `beat_schedule_filename`. @default "celerybeat-schedule.json" */
  beatScheduleFilename: string;
  /** Longest beat sleeps between checks of its schedule, seconds. Celery: `beat_max_loop_interval`. @default 300 */
  beatMaxLoopInterval: number;
}

/** The defaults, as Celery's where Celery has one. */
export const DEFAULT_CONFIG: Readonly<AppConfig> = Object.freeze({
  brokerUrl: "memory://",
  resultBackend: "memory://",
  taskDefaultQueue: "celery",
  taskDefaultPriority: null,
  taskRoutes: {},
  taskSerializer: "json",
  acceptContent: ["application/json"],
  taskAcksLate: false,
  taskTrackStarted: false,
  taskIgnoreResult: false,
  taskTimeLimit: null,
  taskSoftTimeLimit: null,
  resultExpires: 86_400,
  resultExtended: false,
  workerConcurrency: 10,
  workerPrefetchMultiplier: 4,
  workerShutdownTimeout: 30,
  taskDefaultRateLimit: null,
  taskRejectOnWorkerLost: false,
  workerPool: "async",
  workerMaxTasksPerChild: null,
  workerMaxMemoryPerChild: null,
  workerDisableRateLimits: false,
  workerStateDb: null,
  controlExchange: "celery",
  brokerTransportOptions: {},
  resultBackendTransportOptions: {},
  beatSchedule: {},
  timezone: "UTC",
  beatScheduleFilename: "celerybeat-schedule.json",
  beatMaxLoopInterval: 300,
});

type Kind = "string" | "nullableString" | "number" | "nullableNumber" | "boolean" | "list" | "json";

const KINDS: Record<keyof AppConfig, Kind> = {
  brokerUrl: "string",
  resultBackend: "nullableString",
  taskDefaultQueue: "string",
  taskDefaultPriority: "nullableNumber",
  taskRoutes: "json",
  taskSerializer: "string",
  acceptContent: "list",
  taskAcksLate: "boolean",
  taskTrackStarted: "boolean",
  taskIgnoreResult: "boolean",
  taskTimeLimit: "nullableNumber",
  taskSoftTimeLimit: "nullableNumber",
  resultExpires: "nullableNumber",
  resultExtended: "boolean",
  workerConcurrency: "number",
  workerPrefetchMultiplier: "number",
  workerShutdownTimeout: "number",
  taskDefaultRateLimit: "nullableString",
  taskRejectOnWorkerLost: "boolean",
  workerPool: "string",
  workerMaxTasksPerChild: "nullableNumber",
  workerMaxMemoryPerChild: "nullableNumber",
  workerDisableRateLimits: "boolean",
  workerStateDb: "nullableString",
  controlExchange: "string",
  brokerTransportOptions: "json",
  resultBackendTransportOptions: "json",
  beatSchedule: "json",
  timezone: "string",
  beatScheduleFilename: "string",
  beatMaxLoopInterval: "number",
};

/** `taskDefaultQueue` → `TQ_TASK_DEFAULT_QUEUE`. */
export function envNameOf(key: keyof AppConfig): string {
  return `TQ_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/**
 * Reads settings from environment variables named by {@link envNameOf}. Unset variables are absent
 * from the result; malformed values throw `TQ_CONFIG` naming the variable.
 */
export function configFromEnv(env: Record<string, string | undefined> = process.env): Partial<AppConfig> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(KINDS) as (keyof AppConfig)[]) {
    const name = envNameOf(key);
    const raw = env[name];
    if (raw === undefined || raw === "") continue;
    out[key] = parseEnvValue(name, raw, KINDS[key]);
  }
  return out as Partial<AppConfig>;
}

function parseEnvValue(name: string, raw: string, kind: Kind): unknown {
  const isNull = /^(none|null)$/i.test(raw.trim());
  switch (kind) {
    case "string":
      return raw;
    case "nullableString":
      return isNull ? null : raw;
    case "number":
    case "nullableNumber": {
      if (kind === "nullableNumber" && isNull) return null;
      const value = Number(raw);
      if (!Number.isFinite(value)) throw new TqError("TQ_CONFIG", `${name} must be a number, got "${raw}"`);
      return value;
    }
    case "boolean": {
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      throw new TqError("TQ_CONFIG", `${name} must be true or false, got "${raw}"`);
    }
    case "list":
      return raw
        .split(",")
        .map((part) => part.trim())
        .filter(Boolean);
    case "json":
      try {
        return JSON.parse(raw);
      } catch (cause) {
        throw new TqError("TQ_CONFIG", `${name} must be JSON, got "${raw}"`, { cause });
      }
  }
}

/** Merges defaults, then the environment, then explicit settings, and checks the result. */
export function resolveConfig(explicit: Partial<AppConfig>, env: Partial<AppConfig> = {}): AppConfig {
  const merged: AppConfig = { ...DEFAULT_CONFIG, ...stripUndefined(env), ...stripUndefined(explicit) };
  if (!Number.isInteger(merged.workerConcurrency) || merged.workerConcurrency < 1) {
    throw new TqError(
      "TQ_CONFIG",
      `workerConcurrency must be a positive integer, got ${merged.workerConcurrency}`,
    );
  }
  if (!Number.isInteger(merged.workerPrefetchMultiplier) || merged.workerPrefetchMultiplier < 1) {
    throw new TqError(
      "TQ_CONFIG",
      `workerPrefetchMultiplier must be a positive integer, got ${merged.workerPrefetchMultiplier}`,
    );
  }
  if (merged.resultExpires !== null && !(merged.resultExpires > 0)) {
    throw new TqError(
      "TQ_CONFIG",
      `resultExpires must be a positive number of seconds or null, got ${merged.resultExpires}`,
    );
  }
  checkTimezone(merged.timezone);
  if (!(merged.beatMaxLoopInterval > 0)) {
    throw new TqError(
      "TQ_CONFIG",
      `beatMaxLoopInterval must be a positive number of seconds, got ${merged.beatMaxLoopInterval}`,
    );
  }
  for (const key of ["brokerTransportOptions", "resultBackendTransportOptions", "beatSchedule"] as const) {
    const value: unknown = merged[key];
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new TqError("TQ_CONFIG", `${key} must be an object, got ${JSON.stringify(value)}`);
    }
  }
  return merged;
}

/** Throws `TQ_CONFIG` unless `timezone` is an IANA zone name this runtime knows (`UTC`, `Asia/Shanghai`). */
export function checkTimezone(timezone: unknown, what = "timezone"): asserts timezone is string {
  try {
    if (typeof timezone !== "string" || timezone === "") throw new RangeError("not a name");
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
  } catch (cause) {
    throw new TqError(
      "TQ_CONFIG",
      `${what} must be an IANA time zone name such as "UTC" or "Asia/Shanghai", got ${JSON.stringify(timezone)}`,
      { cause },
    );
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
