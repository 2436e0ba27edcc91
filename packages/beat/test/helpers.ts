import {
  type App,
  type AppOptions,
  type BeatScheduleEntry,
  createApp,
  type LeaseAttempt,
  type ScheduleStore,
} from "@tq/core";
import type { Beat, BeatEvents } from "../src/index.js";

/** An app on the in-memory broker, without results, reading nothing from the environment. */
export function makeApp(beatSchedule: Record<string, BeatScheduleEntry>, options: AppOptions = {}): App {
  return createApp({ broker: "memory://", resultBackend: null, env: false, beatSchedule, ...options });
}

/** Collects a beat's `sent` events. */
export function recordSends(beat: Beat, into: BeatEvents["sent"][] = []): BeatEvents["sent"][] {
  beat.on("sent", (event) => into.push(event));
  return into;
}

/** Due times of the sends, as ISO strings. */
export function dueTimes(sends: readonly BeatEvents["sent"][]): string[] {
  return sends.map((send) => send.dueAt.toISOString());
}

/**
 * A store that forwards to another until `cut()` is called, after which every call rejects: a beat
 * cut off from the store by a partition, or frozen — it can neither renew nor record.
 */
export class CuttableStore implements ScheduleStore {
  readonly description: string;
  #cut = false;
  constructor(readonly inner: ScheduleStore) {
    this.description = `cuttable ${inner.description}`;
  }
  cut(): void {
    this.#cut = true;
  }
  #check(): void {
    if (this.#cut) throw new Error("store unreachable");
  }
  async connect() {
    this.#check();
    await this.inner.connect();
  }
  async load() {
    this.#check();
    return this.inner.load();
  }
  async entriesVersion() {
    this.#check();
    return this.inner.entriesVersion();
  }
  async setEntry(...args: Parameters<ScheduleStore["setEntry"]>) {
    this.#check();
    return this.inner.setEntry(...args);
  }
  async deleteEntry(name: string) {
    this.#check();
    return this.inner.deleteEntry(name);
  }
  async recordRuns(...args: Parameters<ScheduleStore["recordRuns"]>) {
    this.#check();
    return this.inner.recordRuns(...args);
  }
  async acquireLease(token: string, ttlMs: number): Promise<LeaseAttempt> {
    this.#check();
    return this.inner.acquireLease(token, ttlMs);
  }
  async renewLease(token: string, ttlMs: number) {
    this.#check();
    return this.inner.renewLease(token, ttlMs);
  }
  async releaseLease(token: string) {
    this.#check();
    return this.inner.releaseLease(token);
  }
  async close() {}
}

/** A store in which every beat holds the lease at once (a split brain): only the compare-and-set guards runs. */
export class SplitBrainStore extends CuttableStore {
  override async acquireLease(): Promise<LeaseAttempt> {
    await this.inner.acquireLease("everyone", 3_600_000);
    return { acquired: true, retryInMs: 0 };
  }
  override async renewLease() {
    return this.inner.renewLease("everyone", 3_600_000);
  }
  override async recordRuns(...[updates]: Parameters<ScheduleStore["recordRuns"]>) {
    return this.inner.recordRuns(updates, "everyone");
  }
  override async releaseLease() {}
}
