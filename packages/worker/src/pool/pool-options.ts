import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type App, TqError } from "@tq/core";
import type { AutoscaleSettings } from "./autoscaler.js";
import type { ChildSetupData } from "./child-messages.js";
import type { PoolChildSetup } from "./child-setup.js";
import { POOL_NAMES, type PoolName } from "./pool.js";
import type { TimeLimits } from "./time-limits.js";

/** The worker options about where tasks run and for how long (part of {@link WorkerOptions}). */
export interface PoolWorkerOptions {
  /**
   * Where tasks run. `async`: in the worker's event loop, `concurrency` at once (I/O-bound tasks).
   * `solo`: the same, one at a time. `threads`: in worker threads (CPU-bound tasks). `processes`: in
   * child processes (CPU-bound tasks, isolation, leaks contained). `threads` and `processes` need
   * {@link appModule}. Celery: `-P` / `worker_pool`.
   * @default app.conf.workerPool ("async")
   */
  pool?: PoolName;
  /**
   * The module that exports the app (as `app` or as its default export), which each thread or process
   * of a `threads`/`processes` pool loads: a path (relative to the current directory) or a file URL.
   * It must be loadable by Node as it is (JavaScript, or TypeScript through {@link childSetup}'s
   * preload). `tq worker -A` passes its module. Celery forks its children, so it has no such setting.
   */
  appModule?: string | URL;
  /** What each child does before it loads {@link appModule}: preload, transports, URL overrides. */
  childSetup?: PoolChildSetup;
  /**
   * Grow up to `max` tasks at once while tasks wait, shrink back to `min` when idle; the pool's
   * children follow. `concurrency` is then ignored and the prefetch follows `max`. Not with `solo`.
   * Celery: `--autoscale max,min`.
   */
  autoscale?: readonly [max: number, min: number];
  /**
   * How long after it last grew an autoscaled worker may shrink, ms. Celery: `AUTOSCALE_KEEPALIVE`.
   * @default 30_000
   */
  autoscaleKeepaliveMs?: number;
  /**
   * Tasks a thread or process runs before it is replaced by a new one; null (or 0) for no limit.
   * Ignored by `async` and `solo`. Celery: `--max-tasks-per-child` / `worker_max_tasks_per_child`.
   * @default app.conf.workerMaxTasksPerChild (null)
   */
  maxTasksPerChild?: number | null;
  /**
   * Memory in KiB past which a child is replaced after its task: the resident set size of a process,
   * the V8 heap used by a thread (threads share their process's RSS). Null (or 0) for no limit.
   * Ignored by `async` and `solo`. Celery: `--max-memory-per-child` / `worker_max_memory_per_child`.
   * @default app.conf.workerMaxMemoryPerChild (null)
   */
  maxMemoryPerChild?: number | null;
  /**
   * Hard time limit of every task, seconds, unless the call (`timeLimit` of `applyAsync`) or the task
   * (`timeLimit` option) sets one: its run ends with FAILURE `TimeLimitExceeded`; in `threads` and
   * `processes` its thread or process is killed. Null (or 0) for none. Celery: `--time-limit` /
   * `task_time_limit`.
   * @default app.conf.taskTimeLimit (null)
   */
  timeLimit?: number | null;
  /**
   * Soft time limit of every task, seconds, unless the call or the task sets one: the task's
   * `currentTask().signal` aborts with `SoftTimeLimitExceeded`, which it may catch. Null (or 0) for
   * none. Celery: `--soft-time-limit` / `task_soft_time_limit`.
   * @default app.conf.taskSoftTimeLimit (null)
   */
  softTimeLimit?: number | null;
}

/** {@link PoolWorkerOptions} resolved and checked. */
export interface ResolvedPoolOptions {
  readonly name: PoolName;
  /** The most tasks run at once: `concurrency`, the autoscale max, or 1 for `solo`. */
  readonly maxConcurrency: number;
  /** Slots (and children) at start: the autoscale min, else {@link maxConcurrency}. */
  readonly initialConcurrency: number;
  readonly autoscale: AutoscaleSettings | null;
  /** The app module's file URL (or specifier); null for `async` and `solo`. */
  readonly appModule: string | null;
  readonly setup: ChildSetupData;
  readonly maxTasksPerChild: number | null;
  readonly maxMemoryPerChild: number | null;
  readonly timeLimits: TimeLimits;
}

const DEFAULT_AUTOSCALE_KEEPALIVE_MS = 30_000;

/** Applies defaults and checks values; throws `TQ_CONFIG` naming the bad option. */
export function resolvePoolOptions(
  app: App,
  options: PoolWorkerOptions,
  concurrency: number,
): ResolvedPoolOptions {
  const name = poolName(options.pool ?? app.conf.workerPool, options.pool === undefined);
  const autoscale = autoscaleSettings(options, name);
  const maxConcurrency = name === "solo" ? 1 : (autoscale?.max ?? concurrency);
  const children = name === "threads" || name === "processes";
  return {
    name,
    maxConcurrency,
    initialConcurrency: autoscale?.min ?? maxConcurrency,
    autoscale,
    appModule: children ? appModuleUrl(options.appModule, name) : null,
    setup: setupData(options.childSetup ?? {}),
    maxTasksPerChild: limit(
      "maxTasksPerChild",
      options.maxTasksPerChild,
      app.conf.workerMaxTasksPerChild,
      true,
    ),
    maxMemoryPerChild: limit(
      "maxMemoryPerChild",
      options.maxMemoryPerChild,
      app.conf.workerMaxMemoryPerChild,
      true,
    ),
    timeLimits: {
      hard: limit("timeLimit", options.timeLimit, app.conf.taskTimeLimit, false),
      soft: limit("softTimeLimit", options.softTimeLimit, app.conf.taskSoftTimeLimit, false),
    },
  };
}

function poolName(value: unknown, fromConf: boolean): PoolName {
  if (POOL_NAMES.includes(value as PoolName)) return value as PoolName;
  const option = fromConf ? "workerPool (app setting)" : "pool";
  throw configError(`${option} must be one of ${POOL_NAMES.join(", ")}, got ${JSON.stringify(value)}`);
}

function autoscaleSettings(options: PoolWorkerOptions, name: PoolName): AutoscaleSettings | null {
  const { autoscale } = options;
  if (autoscale === undefined) return null;
  const [max, min] = Array.isArray(autoscale) ? autoscale : [];
  if (
    !Array.isArray(autoscale) ||
    autoscale.length !== 2 ||
    !isInteger(max, 1) ||
    !isInteger(min, 0) ||
    min > max
  ) {
    throw configError(
      `autoscale must be [max, min] with integers max ≥ 1 and 0 ≤ min ≤ max, got ${JSON.stringify(autoscale)}`,
    );
  }
  if (name === "solo")
    throw configError("autoscale does not apply to the solo pool, which runs one task at a time");
  const keepaliveMs = options.autoscaleKeepaliveMs ?? DEFAULT_AUTOSCALE_KEEPALIVE_MS;
  if (!(keepaliveMs >= 0 && Number.isFinite(keepaliveMs))) {
    throw configError(`autoscaleKeepaliveMs must be a finite number ≥ 0, got ${keepaliveMs}`);
  }
  return { max, min, keepaliveMs };
}

function appModuleUrl(appModule: string | URL | undefined, name: PoolName): string {
  if (appModule === undefined || appModule === "") {
    throw configError(
      `the ${name} pool needs appModule: the path or file URL of the module that exports the app, which each of its ${name} loads (tq worker -A passes its module)`,
    );
  }
  const url = appModule instanceof URL ? appModule : toUrl(appModule);
  if (url.protocol === "file:" && !existsSync(fileURLToPath(url))) {
    throw configError(`appModule ${String(appModule)} names no file (${fileURLToPath(url)})`);
  }
  return url.href;
}

function toUrl(specifier: string): URL {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(specifier) || specifier.startsWith("file:")) return new URL(specifier);
  return pathToFileURL(isAbsolute(specifier) ? specifier : resolve(specifier));
}

function setupData(setup: PoolChildSetup): ChildSetupData {
  const data: ChildSetupData = {
    preload: (setup.preload ?? []).map(({ module, call }) => ({
      module: String(module),
      ...(call === undefined ? {} : { call }),
    })),
    transports: (setup.transports ?? []).map(({ module, exportName }) => {
      if (typeof exportName !== "string" || exportName === "") {
        throw configError(`childSetup.transports: ${String(module)} needs an exportName`);
      }
      return { module: String(module), exportName };
    }),
  };
  if (setup.brokerUrl !== undefined) data.brokerUrl = setup.brokerUrl;
  if (setup.resultBackend !== undefined) data.resultBackend = setup.resultBackend;
  return data;
}

// null, undefined or 0 mean none (Celery reads its settings with `or`).
function limit(
  name: string,
  value: number | null | undefined,
  fallback: number | null,
  integer: boolean,
): number | null {
  const chosen = value === undefined ? fallback : value;
  if (chosen === null || chosen === 0) return null;
  const valid = integer ? isInteger(chosen, 1) : chosen > 0 && Number.isFinite(chosen);
  if (!valid) {
    throw configError(
      `${name} must be ${integer ? "a positive integer" : "a positive number of seconds"} or null, got ${chosen}`,
    );
  }
  return chosen;
}

function isInteger(value: unknown, minimum: number): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= minimum;
}

function configError(message: string): TqError {
  return new TqError("TQ_CONFIG", message, { component: "worker" });
}
