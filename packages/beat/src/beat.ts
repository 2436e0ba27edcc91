import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import type {
  App,
  BeatScheduleEntry,
  ScheduleEntryState,
  ScheduleSnapshot,
  ScheduleStateUpdate,
  ScheduleStore,
} from "@tq/core";
import { TqError } from "@tq/core";
import { type BeatEntry, configuredEntries, toBeatEntry, toStoredEntry } from "./entry.js";
import { type BeatEntryInfo, describeEntries } from "./entry-info.js";
import type { BeatEvents } from "./events.js";
import { Leadership } from "./leadership.js";
import { type BeatOptions, type ResolvedBeatOptions, resolveBeatOptions } from "./options.js";
import { type DueRun, ScheduleBook, type Slot } from "./schedule-book.js";
import { isPermanentSendError, sendEntry } from "./send-entry.js";
import { scheduleStoreFromUrl } from "./store-url.js";

// Updates per recordRuns call: one script or request each, even for 10,000 entries due at once.
const RECORD_BATCH = 500;
const RETRY_BASE_MS = 1000;
const RETRY_MAX_MS = 60_000;

/**
 * Celery's beat: sends each periodic entry's task when it is due. Create it with {@link createBeat},
 * then `start()`; it runs until `stop()`.
 *
 * Of several beats sharing a store, the one holding the store's lease sends; the others wait and take
 * over within the lease's TTL when the leader dies. Before each send the leader records the run in
 * the store (compare-and-set on the last run time, fenced by its lease), so no run is sent twice,
 * even by two beats that both believe they lead, and a restart continues where the last run left off.
 * Beat sleeps until the next due entry (one timer, at most `maxIntervalMs`), whatever their number.
 */
export class Beat {
  /** The app whose tasks beat sends. */
  readonly app: App;
  /** Where state and run-time entries live. */
  readonly store: ScheduleStore;
  readonly #options: ResolvedBeatOptions;
  readonly #ownsStore: boolean;
  readonly #configEntries: ReadonlyMap<string, BeatEntry>;
  readonly #book: ScheduleBook;
  readonly #events = new EventEmitter();
  readonly #leadership: Leadership;
  #entriesVersion = "";
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Ticks, reloads and start-ups run one at a time, in order. */
  #chain: Promise<void> = Promise.resolve();
  #connected: Promise<void> | undefined;
  #state: "created" | "running" | "stopped" = "created";

  constructor(app: App, options: BeatOptions = {}) {
    this.app = app;
    this.#options = resolveBeatOptions(app, options);
    this.#book = new ScheduleBook(this.#options.timezone, this.#options.logger);
    this.#configEntries = configuredEntries(app.conf.beatSchedule, options.entries ?? {});
    const { store } = options;
    this.#ownsStore = typeof store !== "object";
    // The default: a file store at the app's beatScheduleFilename (a path is a file store).
    this.store =
      typeof store === "object"
        ? store
        : scheduleStoreFromUrl(store ?? app.conf.beatScheduleFilename, {
            namespace: app.name,
            logger: this.#options.logger,
            ...(options.cwd ? { cwd: options.cwd } : {}),
          });
    this.#leadership = new Leadership(
      this.store,
      randomUUID(),
      {
        ttlMs: this.#options.leaseTtlMs,
        renewIntervalMs: this.#options.leaseRenewIntervalMs,
        logger: this.#options.logger,
        now: this.#options.now,
      },
      {
        lead: () => this.#serial(() => this.#lead()),
        follow: (reason) => this.#follow(reason),
        renewed: () => this.#checkEntriesVersion(),
      },
    );
  }

  /** True while this beat holds the lease and sends. */
  get isLeader(): boolean {
    return this.#leadership.leading;
  }

  /** Listens to `sent`, `leader`, `follower` and `error`; returns a function that removes the listener. */
  on<E extends keyof BeatEvents>(event: E, listener: (payload: BeatEvents[E]) => void): () => void {
    this.#events.on(event, listener);
    return () => this.#events.off(event, listener);
  }

  /** Connects the store and tries to lead. Resolves once this beat leads or waits for the lease. */
  async start(): Promise<void> {
    if (this.#state !== "created")
      throw new TqError("TQ_CLOSED", "a beat starts once", { component: "beat" });
    this.#state = "running";
    await this.#connect();
    this.#options.logger.info("beat: Starting...", {
      "tq.beat.store": this.store.description,
      "tq.beat.entries": this.#configEntries.size,
    });
    await this.#leadership.start();
  }

  /** Stops sending, lets a run being recorded finish, gives the lease up and closes a store it opened. */
  async stop(): Promise<void> {
    if (this.#state === "stopped") return;
    const started = this.#state === "running";
    this.#state = "stopped";
    this.#leadership.stop();
    clearTimeout(this.#timer);
    await this.#chain;
    await this.#leadership.release();
    this.#book.clear();
    if (this.#ownsStore) await this.store.close();
    if (started) this.#options.logger.info("beat: stopped", {});
  }

  /** Every entry with its last and next run, sorted by next run (Celery's `beat --list` has none; `tq beat --list`). */
  async listEntries(): Promise<BeatEntryInfo[]> {
    let rows: { entry: BeatEntry; state: ScheduleEntryState | undefined }[];
    if (this.isLeader) rows = [...this.#book.slots.values()];
    else {
      await this.#connect();
      const snapshot = await this.store.load();
      rows = [...this.#entriesOf(snapshot).values()].map((entry) => ({
        entry,
        state: snapshot.states[entry.name],
      }));
    }
    return describeEntries(rows, this.#book, this.#options.timezone, this.#options.now());
  }

  /**
   * Adds (or replaces) an entry at run time, kept in the store: every beat on that store sees it (the
   * leader at once when it is this beat, else at its next lease renewal). Throws `TQ_CONFIG` for a bad
   * entry or a name the app's configuration already uses.
   */
  async addEntry(name: string, entry: BeatScheduleEntry): Promise<void> {
    if (this.#configEntries.has(name))
      throw configError(`entry "${name}" is configured in the app; pick another name`);
    const stored = toStoredEntry(toBeatEntry(name, entry, "store"));
    await this.#connect();
    await this.store.setEntry(name, stored);
    if (this.isLeader) await this.#serial(() => this.#reload());
  }

  /** Removes an entry added at run time (and its state); false when there was none. */
  async removeEntry(name: string): Promise<boolean> {
    if (this.#configEntries.has(name)) {
      throw configError(`entry "${name}" is configured in the app; remove it from beatSchedule instead`);
    }
    await this.#connect();
    const removed = await this.store.deleteEntry(name);
    if (removed && this.isLeader) await this.#serial(() => this.#reload());
    return removed;
  }

  #connect(): Promise<void> {
    this.#connected ??= this.store.connect();
    this.#connected.catch(() => {
      this.#connected = undefined;
    });
    return this.#connected;
  }

  #serial(run: () => Promise<void>): Promise<void> {
    const next = this.#chain.then(run);
    this.#chain = next.catch((error: unknown) => {
      this.#options.logger.error("beat: scheduling failed", { error });
      this.#emit("error", { error, entry: null });
    });
    return next;
  }

  async #lead(): Promise<void> {
    await this.#reload(this.#options.missedRuns === "skip");
    this.#options.logger.info("beat: leading; this beat sends the periodic tasks", {
      "tq.beat.store": this.store.description,
      "tq.beat.entries": this.#book.slots.size,
    });
    this.#emit("leader", { entries: this.#book.slots.size });
  }

  #follow(reason: string): void {
    clearTimeout(this.#timer);
    this.#book.clear();
    this.#options.logger.warn(`beat: no longer leading (${reason}); waiting to take over`, {});
    this.#emit("follower", { reason });
  }

  async #checkEntriesVersion(): Promise<void> {
    const version = await this.store.entriesVersion();
    if (version !== this.#entriesVersion && this.isLeader) await this.#serial(() => this.#reload());
  }

  /**
   * Reads the store and rebuilds the schedule. Entries seen for the first time get their state (last
   * run = now, as Celery's `default_now`); with `skipMissed`, entries whose run came due while no beat
   * led get their last run moved to now instead of a catch-up run.
   */
  async #reload(skipMissed = false): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      if (!this.isLeader) return;
      const snapshot = await this.store.load();
      const now = this.#options.now();
      const slots = new Map<string, Slot>();
      const updates: ScheduleStateUpdate[] = [];
      for (const entry of this.#entriesOf(snapshot).values()) {
        const stored = snapshot.states[entry.name];
        const slot: Slot = {
          entry,
          state: stored ?? { lastRunAt: now, totalRunCount: 0 },
          generation: 0,
          failures: 0,
        };
        slots.set(entry.name, slot);
        if (!stored)
          updates.push({ name: entry.name, expectedLastRunAt: null, lastRunAt: now, runCountDelta: 0 });
        else if (skipMissed) {
          const due = this.#book.nextDue(slot);
          if (due !== null && due <= now) {
            updates.push({
              name: entry.name,
              expectedLastRunAt: stored.lastRunAt,
              lastRunAt: now,
              runCountDelta: 0,
            });
            slot.state = { ...stored, lastRunAt: now };
            this.#options.logger.info(`beat: skipping the missed run of ${entry.name} (missedRuns: skip)`, {
              "tq.beat.entry": entry.name,
            });
          }
        }
      }
      const outcomes = await this.#record(updates);
      if (outcomes.includes("not-leader")) {
        this.#leadership.lose("the store says another beat holds the lease");
        return;
      }
      if (outcomes.includes("conflict")) continue; // written meanwhile: read again
      this.#entriesVersion = snapshot.entriesVersion;
      this.#book.replace(slots);
      this.#arm();
      return;
    }
    throw new TqError("TQ_CONFIG", "the schedule store kept changing while beat read it", {
      component: "beat",
    });
  }

  #entriesOf(snapshot: ScheduleSnapshot): Map<string, BeatEntry> {
    const entries = new Map(this.#configEntries);
    for (const [name, stored] of Object.entries(snapshot.entries)) {
      if (entries.has(name)) {
        this.#options.logger.warn(
          `beat: ignoring the stored entry ${name}: the app configures one of that name`,
          {},
        );
        continue;
      }
      try {
        entries.set(name, toBeatEntry(name, stored, "store"));
      } catch (error) {
        this.#options.logger.error(`beat: ignoring the stored entry ${name}`, { error });
      }
    }
    return entries;
  }

  async #record(updates: readonly ScheduleStateUpdate[]): Promise<string[]> {
    const outcomes: string[] = [];
    for (let start = 0; start < updates.length; start += RECORD_BATCH) {
      const batch = updates.slice(start, start + RECORD_BATCH);
      outcomes.push(...(await this.store.recordRuns(batch, this.#leadership.token)));
    }
    return outcomes;
  }

  /** One timer, for the earliest wake-up (at most `maxIntervalMs` away, so clock jumps are noticed). */
  #arm(): void {
    clearTimeout(this.#timer);
    if (this.#state !== "running" || !this.isLeader) return;
    const at = this.#book.nextWakeAt();
    const max = this.#options.maxIntervalMs;
    const delay = at === undefined ? max : Math.min(max, Math.max(0, at - this.#options.now()));
    this.#timer = setTimeout(() => void this.#serial(() => this.#tick()), Math.min(delay, 2 ** 31 - 1));
  }

  async #tick(): Promise<void> {
    if (this.#state !== "running" || !this.isLeader) return;
    const now = this.#options.now();
    const due = this.#book.takeDue(now);
    if (due.length > 0) await this.#run(due, now);
    this.#arm();
  }

  /** Records the due runs, then sends those recorded. */
  async #run(due: readonly DueRun[], now: number): Promise<void> {
    const updates = due.map(({ slot, dueAt }): ScheduleStateUpdate => {
      // One run for a due time; if later runs were missed too, go on from now (one catch-up run).
      const following = this.#book.nextRun(slot.entry, dueAt);
      const lastRunAt = following !== null && following > now ? dueAt : now;
      return { name: slot.entry.name, expectedLastRunAt: slot.state.lastRunAt, lastRunAt, runCountDelta: 1 };
    });
    let outcomes: string[];
    try {
      outcomes = await this.#record(updates);
    } catch (error) {
      this.#options.logger.error("beat: could not record due runs in the store; trying again", { error });
      for (const { slot } of due) this.#retryLater(slot);
      return;
    }
    if (outcomes.includes("not-leader")) {
      this.#leadership.lose("the store says another beat holds the lease");
      return;
    }
    const sends: Promise<void>[] = [];
    due.forEach(({ slot, dueAt }, index) => {
      const update = updates[index] as ScheduleStateUpdate;
      if (outcomes[index] !== "recorded") return;
      const previous = slot.state;
      slot.state = { lastRunAt: update.lastRunAt, totalRunCount: previous.totalRunCount + 1 };
      sends.push(this.#send(slot, dueAt, previous));
    });
    await Promise.all(sends);
    if (outcomes.includes("conflict")) {
      this.#options.logger.warn("beat: the store changed under this beat; reading it again", {});
      await this.#reload();
    }
  }

  async #send(slot: Slot, dueAt: number, previous: ScheduleEntryState): Promise<void> {
    const { entry } = slot;
    const taskId = randomUUID();
    const attributes = { "tq.beat.entry": entry.name, "tq.task_name": entry.task, "tq.task_id": taskId };
    this.#options.logger.info(`Scheduler: Sending due task ${entry.name} (${entry.task})`, attributes);
    try {
      await sendEntry(this.app, entry, taskId);
      slot.failures = 0;
      this.#emit("sent", { entry: entry.name, task: entry.task, taskId, dueAt: new Date(dueAt) });
    } catch (error) {
      this.#emit("error", { error, entry: entry.name });
      if (isPermanentSendError(error)) {
        this.#options.logger.error(`beat: cannot send ${entry.name}; this run is dropped`, {
          ...attributes,
          error,
        });
      } else if (await this.#undo(slot, previous)) {
        this.#options.logger.warn(`beat: sending ${entry.name} failed; trying again`, {
          ...attributes,
          error,
        });
        this.#retryLater(slot);
        return;
      }
    }
    this.#book.enqueue(slot, this.#book.nextDue(slot));
  }

  /** Gives a run whose send failed back to the store, so that it is sent again. */
  async #undo(slot: Slot, previous: ScheduleEntryState): Promise<boolean> {
    const update: ScheduleStateUpdate = {
      name: slot.entry.name,
      expectedLastRunAt: slot.state.lastRunAt,
      lastRunAt: previous.lastRunAt,
      runCountDelta: -1,
    };
    try {
      const [outcome] = await this.#record([update]);
      if (outcome !== "recorded") return false;
      slot.state = previous;
      return true;
    } catch (error) {
      this.#options.logger.error(`beat: a run of ${slot.entry.name} was recorded but not sent`, { error });
      return false;
    }
  }

  #retryLater(slot: Slot): void {
    slot.failures += 1;
    const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (slot.failures - 1));
    this.#book.enqueue(slot, this.#options.now() + delay);
  }

  #emit<E extends keyof BeatEvents>(event: E, payload: BeatEvents[E]): void {
    if (event === "error" && this.#events.listenerCount("error") === 0) return;
    this.#events.emit(event, payload);
  }
}

/** Creates a beat for an app: `createBeat(app, { store: "redis://localhost:6379/0" }).start()`. */
export function createBeat(app: App, options: BeatOptions = {}): Beat {
  return new Beat(app, options);
}

function configError(message: string): TqError {
  return new TqError("TQ_CONFIG", message, { component: "beat" });
}
