import { type App, defaultWorkerName, type Logger, TqError } from "@tq/core";
import { type PoolWorkerOptions, type ResolvedPoolOptions, resolvePoolOptions } from "./pool/pool-options.js";

/** Options of {@link createWorker}. Unset ones come from the app's configuration, as Celery's do. */
export interface WorkerOptions extends PoolWorkerOptions {
  /**
   * Queues to consume. Celery: `-Q` / `task_queues`.
   * @default [app.conf.taskDefaultQueue]
   */
  queues?: readonly string[];
  /**
   * Tasks run at once (and children started, in the `threads` and `processes` pools). Ignored by the
   * `solo` pool (one) and with `autoscale`. Celery: `worker_concurrency` / `-c`.
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
  /**
   * File that keeps the worker's revoked task ids across restarts (JSON, see the README's
   * "Revocation"); `%n`, `%h`, `%d` and `%p` expand to the node name's parts as in Celery. Null keeps
   * them in memory only. Celery: `--statedb` / `worker_state_db`.
   * @default app.conf.workerStateDb
   */
  stateDb?: string | null;
  /**
   * Ignore every task's rate limit (`rateLimit`, `taskDefaultRateLimit`, and changes made at run time
   * by {@link Worker.setRateLimit}). Celery: `worker_disable_rate_limits`.
   * @default app.conf.workerDisableRateLimits
   */
  disableRateLimits?: boolean;
  /**
   * Seconds between the `worker-heartbeat` events sent on the broker's `celeryev` exchange, which
   * Celery's monitors (Flower, `celery events`) use to see the worker alive. Celery: `--heartbeat-interval`.
   * @default 2
   */
  heartbeatInterval?: number;
  /** Send no `worker-online`/`worker-heartbeat`/`worker-offline` events. Celery: `--without-heartbeat`. @default false */
  withoutHeartbeat?: boolean;
}

/** {@link WorkerOptions} with every default applied. */
export interface ResolvedWorkerOptions {
  readonly queues: readonly string[];
  /** The most tasks run at once (the autoscale maximum). */
  readonly concurrency: number;
  /** Pool, autoscale, child limits and time limits. */
  readonly pool: ResolvedPoolOptions;
  readonly prefetch: number;
  readonly hostname: string;
  readonly logger: Logger;
  readonly shutdownTimeoutMs: number;
  /** The dead-letter queue for a source queue, or null to drop. */
  readonly deadLetterQueueFor: (queue: string) => string | null;
  readonly etaHoldLimit: number;
  readonly etaHoldHorizonMs: number;
  /** State file path template, or null. */
  readonly stateDb: string | null;
  readonly disableRateLimits: boolean;
  /** Seconds between heartbeats, or null for none. */
  readonly heartbeatInterval: number | null;
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
  const pool = resolvePoolOptions(app, options, concurrency);
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
    concurrency: pool.maxConcurrency,
    pool,
    // Prefetch follows the most tasks run at once (the autoscale max), as Celery's does.
    prefetch: pool.maxConcurrency * multiplier,
    hostname: options.hostname ?? defaultWorkerName(),
    logger: options.logger ?? app.logger,
    shutdownTimeoutMs,
    deadLetterQueueFor: (queue) => (deadLetter === undefined ? `${queue}.dead` : deadLetter),
    etaHoldLimit,
    etaHoldHorizonMs,
    stateDb: stateDbOption(options.stateDb === undefined ? app.conf.workerStateDb : options.stateDb),
    disableRateLimits: options.disableRateLimits ?? app.conf.workerDisableRateLimits,
    heartbeatInterval: options.withoutHeartbeat ? null : heartbeatInterval(options.heartbeatInterval),
  };
}

function heartbeatInterval(value: number | undefined): number {
  const seconds = value ?? 2;
  if (!(seconds > 0 && Number.isFinite(seconds))) {
    throw configError(`heartbeatInterval must be a finite number of seconds > 0, got ${seconds}`);
  }
  return seconds;
}

function stateDbOption(value: string | null): string | null {
  if (value !== null && (typeof value !== "string" || value.trim() === "")) {
    throw configError(`stateDb must be a file path or null, got ${JSON.stringify(value)}`);
  }
  return value;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw configError(`${name} must be a positive integer, got ${value}`);
  return value;
}

function configError(message: string): TqError {
  return new TqError("TQ_CONFIG", message, { component: "worker" });
}
