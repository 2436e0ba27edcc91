import { randomUUID } from "node:crypto";
import { link, mkdir, open, readFile, rename, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname } from "node:path";
import type {
  LeaseAttempt,
  RecordRunOutcome,
  ScheduleEntryState,
  ScheduleSnapshot,
  ScheduleStateUpdate,
  ScheduleStore,
  StoredBeatEntry,
} from "@tq/core";
import { TqError } from "@tq/core";

/** Options of {@link FileScheduleStore}. */
export interface FileScheduleStoreOptions {
  /** The schedule file. Its lock is `<path>.lock` beside it. Celery: `beat_schedule_filename`, `-s`. */
  path: string;
  /** The clock leases expire by. @default Date.now */
  now?: () => number;
}

interface FileContents {
  format: "tq-beat-schedule";
  version: 1;
  states: Record<string, ScheduleEntryState>;
  entries: Record<string, StoredBeatEntry>;
  entriesVersion: number;
}

interface LockContents {
  token: string;
  pid: number;
  hostname: string;
  expiresAt: number;
}

const FORMAT = "tq-beat-schedule";

/**
 * The default {@link ScheduleStore}: one JSON file, as Celery's `celerybeat-schedule`. Every recorded
 * run rewrites it atomically (a temporary file, fsync, rename), so a crash leaves the old or the new
 * file, never half of one, and a restart neither repeats nor skips a run.
 *
 * It belongs to one beat at a time on one machine: the lease is a lock file (`<path>.lock`, created
 * with `link()` so it appears complete or not at all) naming its process; a second beat waits, and
 * takes over when that process is gone or stopped renewing. Several beats on several machines need a
 * shared store: Redis or MongoDB. Entries added at run time go through the beat that holds the lock
 * (or through any process while no beat runs).
 */
export class FileScheduleStore implements ScheduleStore {
  readonly description: string;
  readonly #path: string;
  readonly #lockPath: string;
  readonly #now: () => number;
  #data: FileContents = emptyContents();
  /** The token this store holds the lock with, as far as it knows. */
  #heldToken: string | undefined;
  #writes: Promise<void> = Promise.resolve();

  constructor(options: FileScheduleStoreOptions) {
    if (typeof options.path !== "string" || options.path === "") {
      throw new TqError("TQ_CONFIG", "the schedule file path must be a non-empty string", {
        component: "beat",
      });
    }
    this.#path = options.path;
    this.#lockPath = `${options.path}.lock`;
    this.#now = options.now ?? Date.now;
    this.description = `file ${options.path}`;
  }

  async connect(): Promise<void> {
    await mkdir(dirname(this.#path), { recursive: true });
  }

  async load(): Promise<ScheduleSnapshot> {
    this.#data = await this.#read();
    return structuredClone({
      states: this.#data.states,
      entries: this.#data.entries,
      entriesVersion: String(this.#data.entriesVersion),
    });
  }

  async entriesVersion(): Promise<string> {
    return String(this.#data.entriesVersion);
  }

  async setEntry(name: string, entry: StoredBeatEntry): Promise<void> {
    await this.#change((data) => {
      data.entries[name] = structuredClone(entry);
      data.entriesVersion += 1;
    });
  }

  async deleteEntry(name: string): Promise<boolean> {
    let existed = false;
    await this.#change((data) => {
      existed = Object.hasOwn(data.entries, name);
      delete data.entries[name];
      delete data.states[name];
      if (existed) data.entriesVersion += 1;
    });
    return existed;
  }

  async recordRuns(updates: readonly ScheduleStateUpdate[], leaseToken: string): Promise<RecordRunOutcome[]> {
    const lock = await this.#readLock();
    if (lock?.token !== leaseToken || lock.expiresAt <= this.#now()) return updates.map(() => "not-leader");
    const outcomes = updates.map((update): RecordRunOutcome => {
      const current = this.#data.states[update.name];
      if ((current?.lastRunAt ?? null) !== update.expectedLastRunAt) return "conflict";
      this.#data.states[update.name] = {
        lastRunAt: update.lastRunAt,
        totalRunCount: Math.max(0, (current?.totalRunCount ?? 0) + update.runCountDelta),
      };
      return "recorded";
    });
    if (outcomes.includes("recorded")) await this.#write(this.#data);
    return outcomes;
  }

  async acquireLease(token: string, ttlMs: number): Promise<LeaseAttempt> {
    const now = this.#now();
    const mine: LockContents = { token, pid: process.pid, hostname: hostname(), expiresAt: now + ttlMs };
    for (let attempt = 0; attempt < 3; attempt += 1) {
      if (await this.#createLock(mine)) {
        this.#heldToken = token;
        return { acquired: true, retryInMs: 0 };
      }
      const current = await this.#readLock();
      if (current === undefined) continue; // released meanwhile: try again
      if (current.token === token) {
        await this.#writeAtomically(this.#lockPath, JSON.stringify(mine));
        this.#heldToken = token;
        return { acquired: true, retryInMs: 0 };
      }
      if (!isStale(current, now)) {
        return { acquired: false, retryInMs: Math.min(ttlMs, Math.max(0, current.expiresAt - now)) };
      }
      await unlink(this.#lockPath).catch(ignoreMissing);
    }
    return { acquired: false, retryInMs: ttlMs };
  }

  async renewLease(token: string, ttlMs: number): Promise<boolean> {
    const current = await this.#readLock();
    if (current?.token !== token) {
      if (this.#heldToken === token) this.#heldToken = undefined;
      return false;
    }
    const renewed: LockContents = { ...current, expiresAt: this.#now() + ttlMs };
    await this.#writeAtomically(this.#lockPath, JSON.stringify(renewed));
    return true;
  }

  async releaseLease(token: string): Promise<void> {
    const current = await this.#readLock();
    if (current?.token === token) await unlink(this.#lockPath).catch(ignoreMissing);
    if (this.#heldToken === token) this.#heldToken = undefined;
  }

  async close(): Promise<void> {
    await this.#writes;
  }

  /** Changes the file: from this store's copy while it holds the lock, else from a fresh read. */
  async #change(apply: (data: FileContents) => void): Promise<void> {
    const lock = await this.#readLock();
    const mine = lock !== undefined && lock.token === this.#heldToken;
    if (lock !== undefined && !mine && !isStale(lock, this.#now())) {
      throw new TqError(
        "TQ_CONFIG",
        `${this.#path} belongs to the beat running as process ${lock.pid} on ${lock.hostname}: add or remove entries through that beat, or keep the schedule in Redis or MongoDB`,
        { component: "beat" },
      );
    }
    const data = mine ? this.#data : await this.#read();
    apply(data);
    this.#data = data;
    await this.#write(data);
  }

  async #read(): Promise<FileContents> {
    let text: string;
    try {
      text = await readFile(this.#path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return emptyContents();
      throw new TqError("TQ_CONFIG", `cannot read the schedule file ${this.#path}`, {
        component: "beat",
        cause: error,
      });
    }
    let parsed: Partial<FileContents> | undefined;
    try {
      parsed = JSON.parse(text) as Partial<FileContents>;
    } catch {}
    if (
      parsed?.format !== FORMAT ||
      typeof parsed.states !== "object" ||
      typeof parsed.entries !== "object"
    ) {
      throw new TqError(
        "TQ_CONFIG",
        `${this.#path} is not a tq beat schedule file; give beat another file, or delete this one to start afresh`,
        { component: "beat" },
      );
    }
    return {
      format: FORMAT,
      version: 1,
      states: parsed.states ?? {},
      entries: parsed.entries ?? {},
      entriesVersion: Number(parsed.entriesVersion ?? 0),
    };
  }

  #write(data: FileContents): Promise<void> {
    const text = JSON.stringify(data);
    const write = this.#writes.then(() => this.#writeAtomically(this.#path, text));
    this.#writes = write.catch(() => {});
    return write;
  }

  async #writeAtomically(path: string, text: string): Promise<void> {
    const temporary = `${path}.${process.pid}.${randomUUID()}.tmp`;
    const handle = await open(temporary, "w");
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  }

  /** Creates the lock file complete or not at all: written aside, then hard-linked into place. */
  async #createLock(lock: LockContents): Promise<boolean> {
    const temporary = `${this.#lockPath}.${process.pid}.${randomUUID()}.tmp`;
    await this.#writeAtomically(temporary, JSON.stringify(lock));
    try {
      await link(temporary, this.#lockPath);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw error;
    } finally {
      await unlink(temporary).catch(ignoreMissing);
    }
  }

  async #readLock(): Promise<LockContents | undefined> {
    try {
      return JSON.parse(await readFile(this.#lockPath, "utf8")) as LockContents;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      // Unreadable: treat it as expired so that a broken lock file cannot stop beat for good.
      return { token: "", pid: 0, hostname: "", expiresAt: 0 };
    }
  }
}

function emptyContents(): FileContents {
  return { format: FORMAT, version: 1, states: {}, entries: {}, entriesVersion: 0 };
}

/** Expired, or held by a process of this machine that no longer exists. */
function isStale(lock: LockContents, now: number): boolean {
  if (lock.expiresAt <= now) return true;
  return lock.hostname === hostname() && !processExists(lock.pid);
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function ignoreMissing(error: unknown): void {
  if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
}
