import type {
  ChordPart,
  ChordProgress,
  Logger,
  ResultBackend,
  StoreResultOptions,
  TaskMeta,
  TqError,
  WaitForResultOptions,
} from "@tq/core";
import type { Collection } from "mongodb";
import {
  decodeTaskMeta,
  decodeValue,
  encodeTaskMeta,
  encodeValue,
  type TaskMetaDocument,
} from "./backend-codec.js";
import {
  checkExpiresMs,
  type MongoBackendOptions,
  type ResolvedBackendOptions,
  resolveBackendOptions,
} from "./backend-options.js";
import { type ChordDocument, ChordStore } from "./chord-store.js";
import { MongoConnection } from "./connection.js";
import { closedError, command, DUPLICATE_KEY, hasCode, wrapError } from "./errors.js";
import { READY, ResultWaiters } from "./result-waiters.js";
import { ChangeWatcher, notifyLocal } from "./wakeups.js";

/** The database a backend URL without a path uses: Celery's `mongodb_backend_settings.database` default. */
export const DEFAULT_BACKEND_DATABASE = "celery";

/** A `celery_groupmeta` document, as Celery's `_save_group` writes it. */
export interface GroupMetaDocument {
  _id: string;
  /** The member ids, encoded with the result serializer (a JSON string). */
  result: unknown;
  date_done: Date;
  tq_expires_at?: Date;
}

const TTL_INDEX = { key: { tq_expires_at: 1 }, name: "tq_expires_at", expireAfterSeconds: 0 } as const;

/**
 * A {@link ResultBackend} in Celery's MongoDB layout (`celery/backends/mongodb.py`): `celery_taskmeta`
 * documents with `_id` = task id and Celery's fields, `celery_groupmeta` for groups, so that a Python
 * Celery app with `result_backend = "mongodb://…"` reads what tq writes and the other way round.
 * Expiry is a TTL index on `tq_expires_at` (per document, so `expiresMs` can differ per store); reads
 * treat a document past that instant as gone even before MongoDB's TTL monitor (every 60 s) removes it.
 * A SUCCESS is never overwritten: the write is a conditional upsert.
 *
 * The constructor does no I/O. A `MongoClient` passed in is used as it is and never closed.
 */
export class MongoBackend implements ResultBackend {
  readonly #connection: MongoConnection;
  readonly #options: ResolvedBackendOptions;
  readonly #logger: Logger;
  readonly #tasks: Collection<TaskMetaDocument>;
  readonly #groups: Collection<GroupMetaDocument>;
  readonly #chordCollection: Collection<ChordDocument>;
  readonly #chords: ChordStore;
  readonly #watcher: ChangeWatcher;
  readonly #waiters: ResultWaiters;
  readonly #localKey: string;
  #ready: Promise<void> | undefined;
  #closed = false;

  constructor(options: MongoBackendOptions) {
    this.#options = resolveBackendOptions(options);
    this.#logger = this.#options.logger;
    this.#connection = new MongoConnection(options, DEFAULT_BACKEND_DATABASE, "tq-backend");
    const { db } = this.#connection;
    this.#tasks = db.collection<TaskMetaDocument>(this.#options.taskmetaCollection);
    this.#groups = db.collection<GroupMetaDocument>(this.#options.groupmetaCollection);
    this.#chordCollection = db.collection<ChordDocument>(this.#options.chordCollection);
    this.#chords = new ChordStore(this.#chordCollection, () =>
      this.#expiresAt(this.#options.resultExpiresMs),
    );
    this.#localKey = `${db.databaseName}/${this.#options.taskmetaCollection}`;
    this.#watcher = new ChangeWatcher(
      this.#tasks as unknown as Collection,
      [{ $match: { "fullDocument.status": { $in: READY } } }],
      this.#logger,
      this.#options.disableChangeStreams,
    );
    this.#waiters = new ResultWaiters({
      readReady: (taskIds) => this.#readReady(taskIds),
      watcher: this.#watcher,
      localKey: this.#localKey,
      pollIntervalMs: this.#options.pollIntervalMs,
      maxPollIntervalMs: this.#options.maxPollIntervalMs,
      logger: this.#logger,
    });
  }

  /** The `MongoClient` in use (created by the backend unless one was passed in). */
  get client(): MongoConnection["client"] {
    return this.#connection.client;
  }

  /** Connects and creates the TTL indexes (once). Safe to call more than once. */
  async connect(options: { signal?: AbortSignal } = {}): Promise<void> {
    this.#assertOpen();
    await this.#connection.connect(options.signal);
    await this.#prepare();
  }

  /** Rejects waits in progress with `TQ_CLOSED` and closes the client if the backend created it. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#waiters.close();
    await this.#watcher.close();
    await this.#connection.close();
  }

  /**
   * Replaces the task's document (Celery's `replace_one(..., upsert=True)`), unless a SUCCESS is stored:
   * the filter excludes it, so the upsert's insert collides on `_id` and the write is dropped.
   */
  async store(meta: TaskMeta, options: StoreResultOptions = {}): Promise<void> {
    this.#assertOpen();
    const expiresMs =
      options.expiresMs === undefined
        ? this.#options.resultExpiresMs
        : checkExpiresMs(options.expiresMs, "expiresMs");
    const document = encodeTaskMeta(meta, this.#expiresAt(expiresMs));
    await this.#prepare();
    const now = new Date();
    try {
      await this.#tasks.replaceOne(
        { _id: document._id, $or: [{ status: { $ne: "SUCCESS" } }, { tq_expires_at: { $lte: now } }] },
        document,
        { upsert: true },
      );
    } catch (error) {
      if (!hasCode(error, DUPLICATE_KEY)) throw wrapError("store a result", error);
      this.#logger.debug("kept the SUCCESS result, ignored a later state", {
        "tq.task_id": meta.task_id,
        "tq.state": meta.status,
      });
      return;
    }
    if (READY.includes(meta.status)) notifyLocal(this.#localKey);
  }

  /** The stored document, or null (also for one past its expiry that MongoDB has not removed yet). */
  async get(taskId: string): Promise<TaskMeta | null> {
    this.#assertOpen();
    const document = await command("read a result", () => this.#tasks.findOne({ _id: taskId }));
    return document && !expired(document.tq_expires_at) ? decodeTaskMeta(document) : null;
  }

  /** Resolves once a ready document is stored (see {@link ResultWaiters} for how it waits). */
  async waitFor(taskId: string, options: WaitForResultOptions = {}): Promise<TaskMeta> {
    this.#assertOpen();
    return this.#waiters.wait(taskId, options);
  }

  /** Deletes the document. */
  async forget(taskId: string): Promise<void> {
    this.#assertOpen();
    await command("forget a result", () => this.#tasks.deleteOne({ _id: taskId }));
  }

  /** Saves a group as Celery's `_save_group` does: the member ids JSON-encoded, and `date_done`. */
  async saveGroup(groupId: string, taskIds: readonly string[]): Promise<void> {
    this.#assertOpen();
    await this.#prepare();
    const expiresAt = this.#expiresAt(this.#options.resultExpiresMs);
    const document: GroupMetaDocument = {
      _id: groupId,
      result: encodeValue([...taskIds]),
      date_done: new Date(),
      ...(expiresAt ? { tq_expires_at: expiresAt } : {}),
    };
    await command("save a group", () =>
      this.#groups.replaceOne({ _id: groupId }, document, { upsert: true }),
    );
  }

  /** A saved group's member ids, or null. */
  async getGroup(groupId: string): Promise<string[] | null> {
    this.#assertOpen();
    const document = await command("read a group", () => this.#groups.findOne({ _id: groupId }));
    if (!document || expired(document.tq_expires_at)) return null;
    const members = decodeValue(document.result, `group ${groupId}`);
    if (!Array.isArray(members)) return null;
    // Celery stores ids; a nested result tuple `[id, parent]` is read as its id.
    return members.map((member) => (Array.isArray(member) ? String(member[0]) : String(member)));
  }

  /** Deletes a saved group. */
  async forgetGroup(groupId: string): Promise<void> {
    this.#assertOpen();
    await command("forget a group", () => this.#groups.deleteOne({ _id: groupId }));
  }

  /** Records the chord's header size (parts recorded before stay). */
  async setChordSize(groupId: string, size: number): Promise<void> {
    this.#assertOpen();
    await this.#prepare();
    await command("set a chord size", () => this.#chords.setChordSize(groupId, size));
  }

  /** Records a header part atomically; of concurrent and repeated calls exactly one sees `complete`. */
  async addChordPart(groupId: string, part: ChordPart): Promise<ChordProgress> {
    this.#assertOpen();
    await this.#prepare();
    return command("record a chord part", () => this.#chords.addChordPart(groupId, part));
  }

  /** Deletes the chord's counters. */
  async clearChord(groupId: string): Promise<void> {
    this.#assertOpen();
    await command("clear a chord", () => this.#chords.clearChord(groupId));
  }

  async #readReady(taskIds: readonly string[]): Promise<{ ready: TaskMeta[]; failed: [string, TqError][] }> {
    const documents = await command("read results", () =>
      this.#tasks.find({ _id: { $in: [...taskIds] }, status: { $in: READY } }).toArray(),
    );
    const ready: TaskMeta[] = [];
    const failed: [string, TqError][] = [];
    for (const document of documents) {
      if (expired(document.tq_expires_at)) continue;
      try {
        ready.push(decodeTaskMeta(document));
      } catch (error) {
        failed.push([String(document._id), wrapError("read a result", error)]);
      }
    }
    return { ready, failed };
  }

  #prepare(): Promise<void> {
    if (!this.#ready) {
      const attempt = command("create the result backend's indexes", async () => {
        await Promise.all([
          this.#tasks.createIndexes([TTL_INDEX]),
          this.#groups.createIndexes([TTL_INDEX]),
          this.#chordCollection.createIndexes([TTL_INDEX]),
        ]);
      });
      this.#ready = attempt;
      attempt.catch(() => {
        if (this.#ready === attempt) this.#ready = undefined;
      });
    }
    return this.#ready;
  }

  #expiresAt(expiresMs: number | null): Date | null {
    return expiresMs === null ? null : new Date(Date.now() + expiresMs);
  }

  #assertOpen(): void {
    if (this.#closed) throw closedError("result backend");
  }
}

/** Creates a {@link MongoBackend}; no I/O until it is used or `connect()`ed. */
export function mongoBackend(options: MongoBackendOptions): MongoBackend {
  return new MongoBackend(options);
}

function expired(expiresAt: unknown): boolean {
  return expiresAt instanceof Date && expiresAt.getTime() <= Date.now();
}
