import { type App, defaultWorkerName, type Logger, TqError } from "@tq/core";

/** Options of {@link createWorker}. Unset ones come from the app's configuration, as Celery's do. */
export interface WorkerOptions {
  /**
   * Queues to consume. Celery: `-Q` / `task_queues`.
   * @default [app.conf.taskDefaultQueue]
   */
  queues?: readonly string[];
  /**
   * Tasks run at once. Celery: `worker_concurrency` / `-c`.
   * @default app.conf.workerConcurrency
   */
  concurrency?: number;
  /**
   * Messages reserved per concurrency slot: the consumer's prefetch is `concurrency * prefetchMultiplier`.
   * Celery: `worker_prefetch_multiplier`.
   * @default app.conf.workerPrefetchMultiplier
   */
  prefetchMultiplier?: number;
  /**
   * The worker's node name, stored with STARTED documents and extended results. Celery: `-n`.
   * @default defaultWorkerName() — `celery@<host>`
   */
  hostname?: string;
  /**
   * Where the worker logs. {@link createPinoLogger} gives pino output.
   * @default app.logger
   */
  logger?: Logger;
  /**
   * How long {@link Worker.stop} waits for running tasks before it aborts them and puts their messages
   * back, in milliseconds.
   * @default app.conf.workerShutdownTimeout * 1000
   */
  shutdownTimeoutMs?: number;
  /**
   * Queue that keeps malformed messages and messages naming an unregistered task, unchanged but for an
   * `x-tq-rejected-reason` header; `null` drops them after logging.
   * @default "<queue>.dead" — the name of the queue the message came from, plus ".dead"
   */
  deadLetterQueue?: string | null;
}

/** {@link WorkerOptions} with every default applied. */
export interface ResolvedWorkerOptions {
  readonly queues: readonly string[];
  readonly concurrency: number;
  readonly prefetch: number;
  readonly hostname: string;
  readonly logger: Logger;
  readonly shutdownTimeoutMs: number;
  /** The dead-letter queue for a source queue, or null to drop. */
  readonly deadLetterQueueFor: (queue: string) => string | null;
}

/** Applies defaults and checks values; throws `TQ_CONFIG` naming the bad option. */
export function resolveWorkerOptions(app: App, options: WorkerOptions): ResolvedWorkerOptions {
  const queues = [...new Set(options.queues ?? [app.conf.taskDefaultQueue])];
  if (queues.length === 0 || queues.some((queue) => typeof queue !== "string" || queue === "")) {
    throw configError("queues must list at least one non-empty queue name");
  }
  const concurrency = positiveInteger("concurrency", options.concurrency ?? app.conf.workerConcurrency);
  const multiplier = positiveInteger(
    "prefetchMultiplier",
    options.prefetchMultiplier ?? app.conf.workerPrefetchMultiplier,
  );
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? app.conf.workerShutdownTimeout * 1000;
  if (!(shutdownTimeoutMs >= 0)) throw configError(`shutdownTimeoutMs must be ≥ 0, got ${shutdownTimeoutMs}`);
  const deadLetter = options.deadLetterQueue;
  if (deadLetter === "") throw configError("deadLetterQueue must be a queue name or null");
  return {
    queues,
    concurrency,
    prefetch: concurrency * multiplier,
    hostname: options.hostname ?? defaultWorkerName(),
    logger: options.logger ?? app.logger,
    shutdownTimeoutMs,
    deadLetterQueueFor: (queue) => (deadLetter === undefined ? `${queue}.dead` : deadLetter),
  };
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw configError(`${name} must be a positive integer, got ${value}`);
  return value;
}

function configError(message: string): TqError {
  return new TqError("TQ_CONFIG", message, { component: "worker" });
}
