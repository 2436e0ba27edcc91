import { TqError } from "../errors.js";
import { type Logger, noopLogger } from "../logger.js";
import type {
  ChordPart,
  ChordProgress,
  ResultBackend,
  StoreResultOptions,
  TaskMeta,
  WaitForResultOptions,
} from "../result-backend.js";
import { isReadyState } from "../states.js";
import { abortedError, throwIfAborted } from "./abort.js";
import { cloneValue } from "./clone.js";
import type { ResultStore } from "./result-store.js";
import { MemoryServer, resultStoreOf } from "./server.js";

/** Options of {@link MemoryBackend} and {@link memoryBackend}. */
export interface MemoryBackendOptions {
  /** The server holding the results; backends on one server share them. @default `MemoryServer.forUrl(url)` */
  server?: MemoryServer;
  /** Names a process-wide server when `server` is not given: `memory://` or `memory://<name>`. @default "memory://" */
  url?: string;
  /**
   * How long documents, groups and chord counters are kept, in ms; null keeps them forever.
   * Celery: `result_expires`. @default 86_400_000 (one day)
   */
  expiresMs?: number | null;
  /** Logger for ignored writes. @default noopLogger */
  logger?: Logger;
}

const DEFAULT_EXPIRES_MS = 86_400_000;

interface Waiter {
  fail(error: TqError): void;
}

/**
 * A {@link ResultBackend} inside the process. Values are deep-copied on the way in and out, a SUCCESS
 * document is never overwritten, expiry is enforced when a document is read (plus an unref'd sweep),
 * and `waitFor` is woken by the store itself, without polling.
 */
export class MemoryBackend implements ResultBackend {
  /** The server holding the results. */
  readonly server: MemoryServer;
  readonly #store: ResultStore;
  readonly #expiresMs: number | null;
  readonly #logger: Logger;
  readonly #waiters = new Set<Waiter>();
  #closed = false;

  constructor(options: MemoryBackendOptions = {}) {
    this.server = options.server ?? MemoryServer.forUrl(options.url);
    this.#store = resultStoreOf(this.server);
    this.#expiresMs = checkExpires(options.expiresMs === undefined ? DEFAULT_EXPIRES_MS : options.expiresMs);
    this.#logger = options.logger ?? noopLogger;
  }

  /** Nothing to open; rejects once closed. */
  async connect(options: { signal?: AbortSignal } = {}): Promise<void> {
    this.#assertOpen();
    throwIfAborted(options.signal);
  }

  /** Rejects this backend's waits in progress with `TQ_CLOSED`; the stored results stay on the server. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const error = new TqError("TQ_CLOSED", "the memory result backend was closed", { component: "memory" });
    for (const waiter of [...this.#waiters]) waiter.fail(error);
  }

  /** Stores a copy of the document; ignored (logged at debug) when a SUCCESS document is there. */
  async store(meta: TaskMeta, options: StoreResultOptions = {}): Promise<void> {
    this.#assertOpen();
    const expiresMs = options.expiresMs === undefined ? this.#expiresMs : checkExpires(options.expiresMs);
    const stored = this.#store.putDoc(cloneValue(meta, "task result"), expiresAt(expiresMs));
    if (!stored) {
      this.#logger.debug("kept the SUCCESS result, ignored a later state", {
        "tq.task_id": meta.task_id,
        "tq.state": meta.status,
      });
    }
  }

  /** A copy of the stored document, or null. */
  async get(taskId: string): Promise<TaskMeta | null> {
    this.#assertOpen();
    const meta = this.#store.getDoc(taskId);
    return meta ? cloneValue(meta, "task result") : null;
  }

  /** Resolves once a ready document (SUCCESS, FAILURE, REVOKED) is there, woken by the store. */
  async waitFor(taskId: string, options: WaitForResultOptions = {}): Promise<TaskMeta> {
    this.#assertOpen();
    const { timeoutMs, signal } = options;
    if (timeoutMs !== undefined && !(timeoutMs >= 0)) {
      throw new TqError("TQ_CONFIG", `timeoutMs must be ≥ 0, got ${timeoutMs}`, { component: "memory" });
    }
    throwIfAborted(signal);
    const current = this.#store.getDoc(taskId);
    if (current && isReadyState(current.status)) return cloneValue(current, "task result");

    return new Promise<TaskMeta>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (): void => {
        stopListening();
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.#waiters.delete(waiter);
      };
      const waiter: Waiter = {
        fail: (error) => {
          finish();
          reject(error);
        },
      };
      const onAbort = (): void => waiter.fail(abortedError(signal!));
      const stopListening = this.#store.listen(taskId, (meta) => {
        if (!isReadyState(meta.status)) return;
        finish();
        resolve(cloneValue(meta, "task result"));
      });
      if (timeoutMs !== undefined) {
        // Not unref'd: a caller waiting for a result keeps the process alive, as a socket read would.
        timer = setTimeout(() => {
          waiter.fail(
            new TqError("TQ_TIMEOUT", `no result for task ${taskId} within ${timeoutMs} ms`, {
              component: "memory",
            }),
          );
        }, timeoutMs);
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  /** Deletes the document. */
  async forget(taskId: string): Promise<void> {
    this.#assertOpen();
    this.#store.deleteDoc(taskId);
  }

  /** Saves a copy of a group's member ids, with the backend's expiry. */
  async saveGroup(groupId: string, taskIds: readonly string[]): Promise<void> {
    this.#assertOpen();
    this.#store.putGroup(groupId, [...taskIds], expiresAt(this.#expiresMs));
  }

  /** A copy of a saved group's member ids, or null. */
  async getGroup(groupId: string): Promise<string[] | null> {
    this.#assertOpen();
    const taskIds = this.#store.getGroup(groupId);
    return taskIds ? [...taskIds] : null;
  }

  /** Deletes a saved group. */
  async forgetGroup(groupId: string): Promise<void> {
    this.#assertOpen();
    this.#store.deleteGroup(groupId);
  }

  /** Starts a chord's bookkeeping afresh (parts recorded before are dropped). */
  async setChordSize(groupId: string, size: number): Promise<void> {
    this.#assertOpen();
    if (!Number.isInteger(size) || size < 0) {
      throw new TqError("TQ_CONFIG", `chord size must be an integer ≥ 0, got ${size}`, {
        component: "memory",
      });
    }
    this.#store.setChordSize(groupId, size, expiresAt(this.#expiresMs));
  }

  /** Records a header member; a member reported twice counts once. Exactly one call sees `complete`. */
  async addChordPart(groupId: string, part: ChordPart): Promise<ChordProgress> {
    this.#assertOpen();
    const progress = this.#store.addChordPart(
      groupId,
      cloneValue(part, "chord part"),
      expiresAt(this.#expiresMs),
    );
    return progress.complete ? cloneValue(progress, "chord parts") : progress;
  }

  /** Removes a chord's bookkeeping. */
  async clearChord(groupId: string): Promise<void> {
    this.#assertOpen();
    this.#store.deleteChord(groupId);
  }

  #assertOpen(): void {
    if (this.#closed) {
      throw new TqError("TQ_CLOSED", "the memory result backend is closed", { component: "memory" });
    }
  }
}

/** Creates a {@link MemoryBackend}. */
export function memoryBackend(options: MemoryBackendOptions = {}): MemoryBackend {
  return new MemoryBackend(options);
}

function checkExpires(expiresMs: number | null): number | null {
  if (expiresMs !== null && !(expiresMs > 0 && Number.isFinite(expiresMs))) {
    throw new TqError("TQ_CONFIG", `expiresMs must be a positive number of ms or null, got ${expiresMs}`, {
      component: "memory",
    });
  }
  return expiresMs;
}

function expiresAt(expiresMs: number | null): number | null {
  return expiresMs === null ? null : Date.now() + expiresMs;
}
