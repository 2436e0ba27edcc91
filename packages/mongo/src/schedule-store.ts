import type {
  LeaseAttempt,
  Logger,
  RecordRunOutcome,
  ScheduleEntryState,
  ScheduleSnapshot,
  ScheduleStateUpdate,
  ScheduleStore,
  StoredBeatEntry,
} from "@tq/core";
import { redactUrl } from "@tq/core";
import type { Collection } from "mongodb";
import { MongoConnection, type MongoConnectionOptions } from "./connection.js";
import { command, configError, DUPLICATE_KEY, hasCode, wrapError } from "./errors.js";

/** Options of {@link MongoScheduleStore}: a URL or client, plus where the documents go. */
export interface MongoScheduleStoreOptions extends MongoConnectionOptions {
  /** Collection of the lease, state and entry documents. @default "tq_beat" */
  collection?: string;
  /** Keeps one app's documents apart from another's; beat passes the app's name. @default "tq" */
  namespace?: string;
  /** Unused for now; accepted so every store takes the same options. */
  logger?: Logger;
}

/** One document of the collection: the lease, an entry's state, a run-time entry, or the version. */
interface BeatDocument {
  _id: string;
  ns: string;
  kind: "lease" | "state" | "entry" | "version";
  name?: string;
  token?: string;
  expiresAt?: Date;
  lastRunAt?: number;
  totalRunCount?: number;
  /** A run-time entry as JSON text: its kwargs may hold keys MongoDB refuses (`$x`, `a.b`). */
  entry?: string;
  value?: number;
}

const DEFAULT_DATABASE = "tq";

/**
 * `@tq/beat`'s schedule store on MongoDB (`tq beat --schedule-store mongodb://…`): one collection
 * holding a lease document (`{ token, expiresAt }`, taken with `findOneAndUpdate` when free or
 * expired, else refused by the `_id`'s uniqueness), one state document per entry, and the run-time
 * entries. Each recorded run is a compare-and-set on the entry's `lastRunAt` (an insert for its first
 * state), so two beats can never record the same run; the lease only decides who tries. Lease times
 * are the beats' own clocks: keep them in sync well within the lease TTL (NTP does).
 */
export class MongoScheduleStore implements ScheduleStore {
  readonly description: string;
  readonly #connection: MongoConnection;
  readonly #documents: Collection<BeatDocument>;
  readonly #namespace: string;

  constructor(options: MongoScheduleStoreOptions) {
    const collection = options.collection ?? "tq_beat";
    if (typeof collection !== "string" || collection === "")
      throw configError("collection must be a non-empty string");
    this.#namespace = options.namespace ?? "tq";
    this.#connection = new MongoConnection(options, DEFAULT_DATABASE, "tq-beat");
    this.#documents = this.#connection.db.collection<BeatDocument>(collection);
    const where = options.url === undefined ? "mongodb (client given)" : redactUrl(options.url);
    this.description = `${where} ${this.#connection.db.databaseName}.${collection} (${this.#namespace})`;
  }

  async connect(options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.#connection.connect(options.signal);
  }

  async load(): Promise<ScheduleSnapshot> {
    const documents = await command("read the beat schedule", () =>
      this.#documents.find({ ns: this.#namespace }).toArray(),
    );
    const snapshot: ScheduleSnapshot = { states: {}, entries: {}, entriesVersion: "0" };
    for (const document of documents) {
      if (document.kind === "state" && document.name !== undefined) {
        const state: ScheduleEntryState = {
          lastRunAt: Number(document.lastRunAt),
          totalRunCount: Number(document.totalRunCount ?? 0),
        };
        snapshot.states[document.name] = state;
      } else if (document.kind === "entry" && document.name !== undefined) {
        snapshot.entries[document.name] = parseEntry(document.entry);
      } else if (document.kind === "version") {
        snapshot.entriesVersion = String(document.value ?? 0);
      }
    }
    return snapshot;
  }

  async entriesVersion(): Promise<string> {
    const version = await command("read the beat entries' version", () =>
      this.#documents.findOne({ _id: this.#id("version") }),
    );
    return String(version?.value ?? 0);
  }

  async setEntry(name: string, entry: StoredBeatEntry): Promise<void> {
    await command("add a beat entry", async () => {
      await this.#documents.updateOne(
        { _id: this.#id("entry", name) },
        { $set: { ns: this.#namespace, kind: "entry", name, entry: JSON.stringify(entry) } },
        { upsert: true },
      );
      await this.#bumpVersion();
    });
  }

  async deleteEntry(name: string): Promise<boolean> {
    return command("remove a beat entry", async () => {
      const removed = await this.#documents.deleteOne({ _id: this.#id("entry", name) });
      await this.#documents.deleteOne({ _id: this.#id("state", name) });
      if (removed.deletedCount === 1) await this.#bumpVersion();
      return removed.deletedCount === 1;
    });
  }

  async recordRuns(updates: readonly ScheduleStateUpdate[], leaseToken: string): Promise<RecordRunOutcome[]> {
    if (updates.length === 0) return [];
    const lease = await command("read the beat lease", () =>
      this.#documents.findOne({ _id: this.#id("lease"), token: leaseToken, expiresAt: { $gt: new Date() } }),
    );
    if (!lease) return updates.map(() => "not-leader");
    return Promise.all(updates.map((update) => this.#recordRun(update)));
  }

  async acquireLease(token: string, ttlMs: number): Promise<LeaseAttempt> {
    const _id = this.#id("lease");
    const now = new Date();
    try {
      await this.#documents.findOneAndUpdate(
        { _id, $or: [{ token }, { expiresAt: { $lte: now } }] },
        { $set: { ns: this.#namespace, kind: "lease", token, expiresAt: new Date(now.getTime() + ttlMs) } },
        { upsert: true },
      );
      return { acquired: true, retryInMs: 0 };
    } catch (error) {
      // Held by another beat: the filter missed, and the upsert ran into the lease's _id.
      if (!hasCode(error, DUPLICATE_KEY)) throw wrapError("take the beat lease", error);
    }
    const current = await command("read the beat lease", () => this.#documents.findOne({ _id }));
    const left = current?.expiresAt ? current.expiresAt.getTime() - Date.now() : 0;
    return { acquired: false, retryInMs: Math.min(ttlMs, Math.max(0, left)) };
  }

  async renewLease(token: string, ttlMs: number): Promise<boolean> {
    const renewed = await command("renew the beat lease", () =>
      this.#documents.updateOne(
        { _id: this.#id("lease"), token, expiresAt: { $gt: new Date() } },
        { $set: { expiresAt: new Date(Date.now() + ttlMs) } },
      ),
    );
    return renewed.matchedCount === 1;
  }

  async releaseLease(token: string): Promise<void> {
    await command("release the beat lease", () =>
      this.#documents.deleteOne({ _id: this.#id("lease"), token }),
    );
  }

  async close(): Promise<void> {
    await this.#connection.close();
  }

  async #recordRun(update: ScheduleStateUpdate): Promise<RecordRunOutcome> {
    const _id = this.#id("state", update.name);
    if (update.expectedLastRunAt === null) {
      try {
        await this.#documents.insertOne({
          _id,
          ns: this.#namespace,
          kind: "state",
          name: update.name,
          lastRunAt: update.lastRunAt,
          totalRunCount: Math.max(0, update.runCountDelta),
        });
        return "recorded";
      } catch (error) {
        if (hasCode(error, DUPLICATE_KEY)) return "conflict";
        throw wrapError("record a beat run", error);
      }
    }
    const result = await command("record a beat run", () =>
      this.#documents.updateOne(
        { _id, lastRunAt: update.expectedLastRunAt as number },
        { $set: { lastRunAt: update.lastRunAt }, $inc: { totalRunCount: update.runCountDelta } },
      ),
    );
    return result.matchedCount === 1 ? "recorded" : "conflict";
  }

  async #bumpVersion(): Promise<void> {
    await this.#documents.updateOne(
      { _id: this.#id("version") },
      { $set: { ns: this.#namespace, kind: "version" }, $inc: { value: 1 } },
      { upsert: true },
    );
  }

  #id(kind: BeatDocument["kind"], name?: string): string {
    return name === undefined ? `${this.#namespace}:${kind}` : `${this.#namespace}:${kind}:${name}`;
  }
}

/** Creates a {@link MongoScheduleStore}; no I/O until it is used. */
export function mongoScheduleStore(options: MongoScheduleStoreOptions): MongoScheduleStore {
  return new MongoScheduleStore(options);
}

function parseEntry(text: string | undefined): StoredBeatEntry {
  try {
    return JSON.parse(text ?? "") as StoredBeatEntry;
  } catch {
    // Beat checks every entry and logs the ones it cannot use.
    return { task: "", schedule: String(text) };
  }
}
