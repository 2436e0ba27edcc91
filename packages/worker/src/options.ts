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
  /**
   * The most ETA/countdown tasks held in memory at once, on a broker with delayed delivery
   * (`capabilities.delayedDelivery`: AMQP, memory); the others wait in the broker. Held tasks stay
   * unacked and so use prefetch slots, which the `Broker` interface cannot enlarge per message as
   * Celery does: the worker therefore also holds no more than `prefetch − concurrency`, so that held
   * tasks never keep the run slots from being fed. `0` holds none. Without delayed delivery (Redis)
   * every ETA task is held, within the prefetch, and this option has no effect.
   * @default 1000
   */
  etaHoldLimit?: number;
  /**
   * Only ETA tasks due within this many ms are held, on a broker with delayed delivery; one due later
   * is handed back to be delivered half a horizon before its ETA. Keep it well below the broker's
   * limit on unacked messages (RabbitMQ's `consumer_timeout`, 30 min by default).
   * @default 60_000
   */
  etaHoldHorizonMs?: number;
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
  readonly etaHoldLimit: number;
  readonly etaHoldHorizonMs: number;
}

const DEFAULT_ETA_HOLD_LIMIT = 1_000;
const DEFAULT_ETA_HOLD_HORIZON_MS = 60_000;

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
  const etaHoldLimit = options.etaHoldLimit ?? DEFAULT_ETA_HOLD_LIMIT;
  if (!Number.isInteger(etaHoldLimit) || etaHoldLimit < 0) {
    throw configError(`etaHoldLimit must be an integer ≥ 0, got ${etaHoldLimit}`);
  }
  const etaHoldHorizonMs = options.etaHoldHorizonMs ?? DEFAULT_ETA_HOLD_HORIZON_MS;
  if (!(etaHoldHorizonMs >= 0 && Number.isFinite(etaHoldHorizonMs))) {
    throw configError(`etaHoldHorizonMs must be a finite number ≥ 0, got ${etaHoldHorizonMs}`);
  }
  return {
    queues,
    concurrency,
    prefetch: concurrency * multiplier,
    hostname: options.hostname ?? defaultWorkerName(),
    logger: options.logger ?? app.logger,
    shutdownTimeoutMs,
    deadLetterQueueFor: (queue) => (deadLetter === undefined ? `${queue}.dead` : deadLetter),
    etaHoldLimit,
    etaHoldHorizonMs,
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
