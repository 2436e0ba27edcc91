import type { Logger, ScheduleEntryState } from "@tq/core";
import type { BeatEntry } from "./entry.js";
import { WakeQueue } from "./wake-queue.js";

/** An entry the leading beat schedules, with its state as last recorded in the store. */
export interface Slot {
  entry: BeatEntry;
  state: ScheduleEntryState;
  /** Bumped on every wake-up queued for it, so that only the latest one counts. */
  generation: number;
  /** Send failures in a row, for the back-off. */
  failures: number;
}

/** A slot whose run is due, and when it was due. */
export interface DueRun {
  slot: Slot;
  dueAt: number;
}

/**
 * The leading beat's schedule: its slots and the queue of their next wake-ups. Next times come from
 * each entry's schedule, read in the entry's zone or beat's; a schedule that throws is logged and
 * never runs rather than stopping the others.
 */
export class ScheduleBook {
  readonly slots = new Map<string, Slot>();
  readonly #queue = new WakeQueue();
  readonly #timezone: string;
  readonly #logger: Logger;

  constructor(timezone: string, logger: Logger) {
    this.#timezone = timezone;
    this.#logger = logger;
  }

  /** Replaces every slot and queues each one's next run. */
  replace(slots: ReadonlyMap<string, Slot>): void {
    this.clear();
    for (const [name, slot] of slots) {
      this.slots.set(name, slot);
      this.enqueue(slot, this.nextDue(slot));
    }
  }

  clear(): void {
    this.slots.clear();
    this.#queue.clear();
  }

  /** When the earliest wake-up is, if any. */
  nextWakeAt(): number | undefined {
    return this.#queue.peek()?.at;
  }

  /** Takes the runs due at `now`; slots woken early are queued again for their due time. */
  takeDue(now: number): DueRun[] {
    const due: DueRun[] = [];
    for (let top = this.#queue.peek(); top !== undefined && top.at <= now; top = this.#queue.peek()) {
      this.#queue.pop();
      const slot = this.slots.get(top.name);
      if (!slot || slot.generation !== top.generation) continue;
      const dueAt = this.nextDue(slot);
      if (dueAt === null) continue;
      if (dueAt > now) this.enqueue(slot, dueAt);
      else due.push({ slot, dueAt });
    }
    return due;
  }

  /** Queues a slot's wake-up at `at` (none for null), replacing the one it had. */
  enqueue(slot: Slot, at: number | null): void {
    slot.generation += 1;
    if (at !== null) this.#queue.push({ at, name: slot.entry.name, generation: slot.generation });
  }

  /** The slot's next run after its last one. */
  nextDue(slot: Slot): number | null {
    return this.nextRun(slot.entry, slot.state.lastRunAt);
  }

  /** An entry's first run after `after`, or null for never. */
  nextRun(entry: BeatEntry, after: number): number | null {
    try {
      return entry.schedule.nextRunAfter(after, entry.timezone ?? this.#timezone);
    } catch (error) {
      this.#logger.error(`beat: the schedule of ${entry.name} failed; it will not run`, { error });
      return null;
    }
  }
}
