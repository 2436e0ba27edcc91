import type { Schedule } from "@tq/core";
import { type Duration, describeDuration, durationMs } from "./duration.js";

/**
 * Runs at a fixed interval after the previous run: Celery's `schedule(run_every=…)`, which a number or
 * a `timedelta` in `beat_schedule` becomes. A new entry first runs one interval after beat first saw
 * it; after that, one interval after each run's due time (no drift from late wake-ups).
 */
export class IntervalSchedule implements Schedule {
  readonly kind = "every";
  /** The interval, ms. */
  readonly intervalMs: number;

  constructor(interval: Duration) {
    this.intervalMs = durationMs(interval);
  }

  nextRunAfter(afterMs: number): number {
    return afterMs + this.intervalMs;
  }

  toJSON(): { kind: "every"; seconds: number } {
    return { kind: "every", seconds: this.intervalMs / 1000 };
  }

  toString(): string {
    return `every ${describeDuration(this.intervalMs)}`;
  }
}

/**
 * An interval schedule: `every(30)` (seconds, as in Celery), `every("30s")`, `every("1h30m")`,
 * `every({ minutes: 5 })`. Throws `TQ_CONFIG` for anything but a positive duration.
 */
export function every(interval: Duration): IntervalSchedule {
  return new IntervalSchedule(interval);
}
