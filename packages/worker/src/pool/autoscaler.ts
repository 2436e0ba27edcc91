import { performance } from "node:perf_hooks";
import type { Logger } from "@tq/core";

/** Autoscale bounds. Celery: `--autoscale max,min`. */
export interface AutoscaleSettings {
  /** The most tasks run at once. */
  readonly max: number;
  /** The fewest slots (and children) kept. */
  readonly min: number;
  /** How long after its last growth the pool may shrink, ms. Celery: `AUTOSCALE_KEEPALIVE` (30 s). */
  readonly keepaliveMs: number;
}

/** What the autoscaler watches and resizes: the worker's scheduler. */
export interface Scalable {
  readonly concurrency: number;
  readonly running: ReadonlySet<unknown>;
  readonly waiting: number;
  resize(concurrency: number): void;
}

// Celery's autoscaler thread looks once a second.
const INTERVAL_MS = 1_000;

/**
 * Celery's autoscaler: every second it compares the tasks the worker holds (running and waiting for a
 * slot) with its slots; it grows at once up to `max` when tasks wait, and shrinks down to what is
 * held (not below `min`) once `keepaliveMs` passed since it last grew. The pool follows: a
 * threads/processes pool starts or stops children to match.
 */
export class Autoscaler {
  readonly #settings: AutoscaleSettings;
  readonly #scheduler: Scalable;
  readonly #resizePool: (size: number) => void;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #lastScaleUp: number | undefined;

  constructor(
    settings: AutoscaleSettings,
    scheduler: Scalable,
    resizePool: (size: number) => void,
    logger: Logger,
  ) {
    this.#settings = settings;
    this.#scheduler = scheduler;
    this.#resizePool = resizePool;
    this.#logger = logger;
  }

  /** Starts looking, once a second. */
  start(): void {
    this.#timer ??= setInterval(() => this.tick(), INTERVAL_MS);
    this.#timer.unref();
  }

  /** Stops looking. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One look: grows or shrinks once if it should. */
  tick(now = performance.now()): void {
    const { max, min, keepaliveMs } = this.#settings;
    const held = this.#scheduler.running.size + this.#scheduler.waiting;
    const current = this.#scheduler.concurrency;
    const wanted = Math.min(held, max);
    if (wanted > current) {
      this.#lastScaleUp = now;
      this.#logger.info(`autoscale: scaling up ${wanted - current} slots, to ${wanted}`, {
        "tq.concurrency": wanted,
      });
      this.#resize(wanted);
      return;
    }
    const floor = Math.max(held, min);
    if (floor < current && this.#lastScaleUp !== undefined && now - this.#lastScaleUp > keepaliveMs) {
      this.#logger.info(`autoscale: scaling down ${current - floor} slots, to ${floor}`, {
        "tq.concurrency": floor,
      });
      this.#resize(floor);
    }
  }

  #resize(size: number): void {
    this.#scheduler.resize(size);
    this.#resizePool(size);
  }
}
