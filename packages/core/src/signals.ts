import { TqError } from "./errors.js";
import type { Logger } from "./logger.js";
import { SIGNAL_NAMES, type TqSignals } from "./signal-payloads.js";

/**
 * A signal handler. Handlers run synchronously, in the order they were connected, where the signal is
 * sent (as Celery's do). One may be async, but it is not awaited: what it changes after its first
 * `await` (a publish's headers, say) is not seen, and its rejection is only logged.
 */
export type SignalHandler<P> = (payload: P) => void | PromiseLike<void>;

/** Options of {@link Signals.on}. */
export interface SignalConnectOptions {
  /** Run once, then disconnect. @default false */
  once?: boolean;
}

/**
 * A small typed signal registry: Celery's `celery.signals`, one per app (`app.signals`).
 *
 * ```ts
 * const off = app.signals.on("taskPrerun", ({ taskId, task }) => log(task.name, taskId));
 * off(); // disconnects
 * ```
 *
 * Sending is robust, as Celery's `send_robust` for worker signals: a handler that throws (or whose
 * promise rejects) is logged and the next one runs; neither the worker nor the send is affected.
 * When nothing is connected to a signal, senders build no payload at all ({@link has}).
 */
export class Signals<E extends object = TqSignals> {
  // Each list is replaced, never changed in place, so a send iterates a stable list even when a
  // handler connects or disconnects (a `once` handler) during it.
  readonly #handlers = new Map<keyof E, readonly SignalHandler<never>[]>();
  readonly #names: ReadonlySet<PropertyKey>;
  readonly #logger: Logger;
  #size = 0;

  /**
   * @param names the signals that exist; connecting to another name is a `TQ_CONFIG` error (a typo).
   * @param logger where handler failures are logged when the sender names no logger.
   */
  constructor(names: readonly (keyof E)[], logger: Logger) {
    this.#names = new Set(names);
    this.#logger = logger;
  }

  /** Connects a handler; returns a function that disconnects it. Celery: `signal.connect(handler)`. */
  on<K extends keyof E>(
    name: K,
    handler: SignalHandler<E[K]>,
    options: SignalConnectOptions = {},
  ): () => void {
    if (!this.#names.has(name)) {
      throw new TqError(
        "TQ_CONFIG",
        `unknown signal "${String(name)}" (known: ${[...this.#names].map(String).join(", ")})`,
      );
    }
    if (typeof handler !== "function") {
      throw new TqError("TQ_CONFIG", `a "${String(name)}" signal handler must be a function`);
    }
    let connected: SignalHandler<E[K]> = handler;
    if (options.once) {
      connected = (payload) => {
        this.#remove(name, connected);
        return handler(payload);
      };
    }
    this.#handlers.set(name, [...(this.#handlers.get(name) ?? []), connected as SignalHandler<never>]);
    this.#size += 1;
    return () => this.#remove(name, connected);
  }

  /** Connects a handler for the next send only; returns a function that disconnects it. */
  once<K extends keyof E>(name: K, handler: SignalHandler<E[K]>): () => void {
    return this.on(name, handler, { once: true });
  }

  /** Disconnects a handler connected with {@link on} (not one connected with `once`: use the returned function). */
  off<K extends keyof E>(name: K, handler: SignalHandler<E[K]>): void {
    this.#remove(name, handler);
  }

  /** True when a handler is connected to `name`: senders check it before they build a payload. */
  has(name: keyof E): boolean {
    return this.#handlers.has(name);
  }

  /** How many handlers are connected, over all signals (0: a sender may skip every signal at once). */
  get size(): number {
    return this.#size;
  }

  /**
   * Calls every handler of `name` with `payload`, in order. A failing handler is logged on `logger`
   * (the registry's by default) and does not stop the others.
   */
  emit<K extends keyof E>(name: K, payload: E[K], logger: Logger = this.#logger): void {
    const handlers = this.#handlers.get(name);
    if (!handlers) return;
    for (const handler of handlers as readonly SignalHandler<E[K]>[]) {
      try {
        const returned = handler(payload);
        if (returned && typeof returned.then === "function") {
          returned.then(undefined, (error: unknown) => logFailure(logger, name, error));
        }
      } catch (error) {
        logFailure(logger, name, error);
      }
    }
  }

  #remove<K extends keyof E>(name: K, handler: SignalHandler<E[K]>): void {
    const handlers = this.#handlers.get(name);
    if (!handlers) return;
    const index = handlers.indexOf(handler as SignalHandler<never>);
    if (index === -1) return;
    this.#size -= 1;
    if (handlers.length === 1) {
      this.#handlers.delete(name);
      return;
    }
    this.#handlers.set(name, [...handlers.slice(0, index), ...handlers.slice(index + 1)]);
  }
}

/** The signal registry of an app: every signal tq sends. */
export function createAppSignals(logger: Logger): Signals<TqSignals> {
  return new Signals<TqSignals>(SIGNAL_NAMES, logger);
}

function logFailure(logger: Logger, name: PropertyKey, error: unknown): void {
  logger.error(`a "${String(name)}" signal handler failed`, { "tq.signal": String(name), error });
}
