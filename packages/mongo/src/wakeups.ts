import type { Logger } from "@tq/core";
import type { ChangeStream, Collection, Document } from "mongodb";
import { hasCode } from "./errors.js";

type Listener = () => void;

// Publishers and consumers in one process find each other here, so that a consumer wakes at once for
// a message published in-process instead of waiting for its next poll.
const localListeners = new Map<string, Set<Listener>>();

/** Wakes this process's listeners of `key` now, or at `at` when that is in the future. */
export function notifyLocal(key: string, at?: Date): void {
  const delay = at ? at.getTime() - Date.now() : 0;
  const run = () => {
    for (const listener of localListeners.get(key) ?? []) listener();
  };
  if (delay > 0) setTimeout(run, delay).unref();
  else run();
}

/** Listens for {@link notifyLocal} on `key`; returns the unsubscribe function. */
export function onLocal(key: string, listener: Listener): () => void {
  let listeners = localListeners.get(key);
  if (!listeners) {
    listeners = new Set();
    localListeners.set(key, listeners);
  }
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0) localListeners.delete(key);
  };
}

// What a server without change streams answers: 40573 (standalone mongod: "only supported on replica
// sets"), 40324 (unknown stage), 115/59 (command not supported / not found).
const UNSUPPORTED_CODES = [40573, 40324, 115, 59];
const RETRY_AFTER_ERROR_MS = 30_000;

/**
 * One change stream on a collection, shared by every listener of a broker or backend, opened on the
 * first subscription. A server that has no change streams (a standalone mongod) answers the first
 * `aggregate` with an error; the watcher then gives up for good and the listeners keep polling, which
 * they do anyway (a change stream only shortens their waits). Other errors close the stream and it is
 * opened again 30 s later.
 */
export class ChangeWatcher {
  readonly #collection: Collection<Document>;
  readonly #pipeline: Document[];
  readonly #logger: Logger;
  readonly #listeners = new Set<Listener>();
  #stream: ChangeStream | undefined;
  #unsupported: boolean;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(collection: Collection<Document>, pipeline: Document[], logger: Logger, disabled: boolean) {
    this.#collection = collection;
    this.#pipeline = pipeline;
    this.#logger = logger;
    this.#unsupported = disabled;
  }

  /** Whether a change stream is open right now. */
  get active(): boolean {
    return this.#stream !== undefined;
  }

  /** Calls `listener` on every matching change; returns the unsubscribe function. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    this.#open();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#shut();
    };
  }

  /** Closes the stream for good. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    await this.#shut();
  }

  #open(): void {
    if (this.#stream || this.#unsupported || this.#closed || this.#retry || this.#listeners.size === 0)
      return;
    let stream: ChangeStream;
    try {
      stream = this.#collection.watch(this.#pipeline);
    } catch (error) {
      this.#failed(error);
      return;
    }
    this.#stream = stream;
    stream.on("change", () => {
      for (const listener of this.#listeners) listener();
    });
    stream.on("error", (error: unknown) => {
      if (this.#stream !== stream) return;
      this.#stream = undefined;
      void stream.close().catch(() => {});
      this.#failed(error);
    });
  }

  #failed(error: unknown): void {
    if (hasCode(error, ...UNSUPPORTED_CODES)) {
      this.#unsupported = true;
      this.#logger.debug("the MongoDB server offers no change streams; waiting by polling", {
        "tq.collection": this.#collection.collectionName,
      });
      return;
    }
    if (this.#closed) return;
    this.#logger.warn("MongoDB change stream failed; polling until it is reopened", { error });
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#open();
    }, RETRY_AFTER_ERROR_MS);
    this.#retry.unref();
  }

  async #shut(): Promise<void> {
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = undefined;
    const stream = this.#stream;
    this.#stream = undefined;
    await stream?.close().catch(() => {});
  }
}

/**
 * A sleep that a wake-up cuts short, with capped exponential back-off: each empty round waits twice
 * as long as the one before, from `minMs` to `maxMs`; {@link reset} (something arrived) starts over.
 */
export class BackoffSleeper {
  readonly #minMs: number;
  readonly #maxMs: number;
  #currentMs: number;
  #woken = false;
  #wake: (() => void) | undefined;

  constructor(minMs: number, maxMs: number) {
    this.#minMs = minMs;
    this.#maxMs = maxMs;
    this.#currentMs = minMs;
  }

  /** Starts the back-off over from its shortest interval. */
  reset(): void {
    this.#currentMs = this.#minMs;
  }

  /** Ends the current sleep now, or makes the next one return at once. */
  wake(): void {
    this.#woken = true;
    this.#currentMs = this.#minMs;
    this.#wake?.();
  }

  /** Sleeps for the current interval (at most `capMs`), then doubles the interval. */
  async sleep(capMs = Number.POSITIVE_INFINITY): Promise<void> {
    if (this.#woken) {
      this.#woken = false;
      return;
    }
    const ms = Math.max(0, Math.min(this.#currentMs, capMs));
    this.#currentMs = Math.min(this.#maxMs, this.#currentMs * 2);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
    this.#wake = undefined;
    this.#woken = false;
  }
}
