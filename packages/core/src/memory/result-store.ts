import type { ChordPart, ChordProgress, TaskMeta } from "../result-backend.js";
import { ExpiringMap } from "./expiring-map.js";

interface ChordState {
  size: number | null;
  readonly parts: Map<number, ChordPart>;
  completed: boolean;
}

/** Listens for documents stored under one task id. */
export type DocumentListener = (meta: TaskMeta) => void;

// Expiry is enforced on read; the sweep only returns memory held by documents nobody reads again.
const SWEEP_INTERVAL_MS = 60_000;

/**
 * The result side of a {@link MemoryServer}: documents, groups and chord counters shared by every
 * `MemoryBackend` on that server. It stores what it is given; backends copy values in and out.
 */
export class ResultStore {
  readonly #docs = new ExpiringMap<TaskMeta>();
  readonly #groups = new ExpiringMap<string[]>();
  readonly #chords = new ExpiringMap<ChordState>();
  readonly #listeners = new Map<string, Set<DocumentListener>>();
  #sweepTimer: ReturnType<typeof setInterval> | undefined;

  /** The live document of a task. */
  getDoc(taskId: string): TaskMeta | undefined {
    return this.#docs.get(taskId);
  }

  /** Stores a document unless a SUCCESS one is there; tells listeners. False when it was ignored. */
  putDoc(meta: TaskMeta, expiresAt: number | null): boolean {
    if (this.#docs.get(meta.task_id)?.status === "SUCCESS") return false;
    this.#docs.set(meta.task_id, meta, expiresAt);
    this.#sweepLater(expiresAt);
    for (const listener of [...(this.#listeners.get(meta.task_id) ?? [])]) listener(meta);
    return true;
  }

  /** Deletes a document. */
  deleteDoc(taskId: string): void {
    this.#docs.delete(taskId);
  }

  /** Calls `listener` with every document stored for the task from now on; returns the unsubscribe. */
  listen(taskId: string, listener: DocumentListener): () => void {
    let listeners = this.#listeners.get(taskId);
    if (!listeners) {
      listeners = new Set();
      this.#listeners.set(taskId, listeners);
    }
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.#listeners.get(taskId) === listeners) this.#listeners.delete(taskId);
    };
  }

  /** A saved group's member ids. */
  getGroup(groupId: string): string[] | undefined {
    return this.#groups.get(groupId);
  }

  /** Saves a group's member ids. */
  putGroup(groupId: string, taskIds: string[], expiresAt: number | null): void {
    this.#groups.set(groupId, taskIds, expiresAt);
    this.#sweepLater(expiresAt);
  }

  /** Deletes a saved group. */
  deleteGroup(groupId: string): void {
    this.#groups.delete(groupId);
  }

  /** Starts a chord's bookkeeping afresh with its header size. */
  setChordSize(groupId: string, size: number, expiresAt: number | null): void {
    this.#chords.set(groupId, { size, parts: new Map(), completed: false }, expiresAt);
    this.#sweepLater(expiresAt);
  }

  /**
   * Records a finished header member. Synchronous, hence atomic: exactly one call sees `complete`.
   * A member reported twice (a redelivered task) counts once.
   */
  addChordPart(groupId: string, part: ChordPart, expiresAt: number | null): ChordProgress {
    let chord = this.#chords.get(groupId);
    if (!chord) {
      // The size is unknown (expired, or never set): keep the parts, never complete.
      chord = { size: null, parts: new Map(), completed: false };
      this.#chords.set(groupId, chord, expiresAt);
      this.#sweepLater(expiresAt);
    }
    chord.parts.set(part.index, part);
    const received = chord.parts.size;
    const complete = !chord.completed && chord.size !== null && received >= chord.size;
    if (!complete) return { complete: false, received, parts: [] };
    chord.completed = true;
    return { complete, received, parts: [...chord.parts.values()].sort((a, b) => a.index - b.index) };
  }

  /** Removes a chord's bookkeeping. */
  deleteChord(groupId: string): void {
    this.#chords.delete(groupId);
  }

  #sweepLater(expiresAt: number | null): void {
    if (expiresAt === null || this.#sweepTimer) return;
    this.#sweepTimer = setInterval(() => this.#sweep(), SWEEP_INTERVAL_MS);
    // Unref'd: expiry bookkeeping must never keep a process alive.
    this.#sweepTimer.unref();
  }

  #sweep(): void {
    const now = Date.now();
    this.#docs.sweep(now);
    this.#groups.sweep(now);
    this.#chords.sweep(now);
    if (this.#docs.size + this.#groups.size + this.#chords.size === 0) {
      clearInterval(this.#sweepTimer);
      this.#sweepTimer = undefined;
    }
  }
}
