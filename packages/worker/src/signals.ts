import type { Logger } from "@tq/core";

/** Options of `Worker.installSignalHandlers`. */
export interface SignalHandlerOptions {
  /**
   * Call `process.exit()` once the worker stopped, instead of only setting `process.exitCode` and
   * letting the event loop empty.
   * @default false
   */
  exit?: boolean;
}

/** The part of a worker the signal handlers drive. */
export interface Stoppable {
  stop(options?: { timeoutMs?: number }): Promise<void>;
}

const SIGNALS = ["SIGINT", "SIGTERM"] as const;

/**
 * Stops the worker gracefully on SIGINT or SIGTERM; a second signal stops it at once (running tasks
 * are aborted and their messages given back). Returns a function that removes the handlers; they are
 * also removed once the worker stopped, so a later signal acts as Node's default again.
 */
export function installSignalHandlers(
  worker: Stoppable,
  logger: Logger,
  options: SignalHandlerOptions = {},
): () => void {
  let received = 0;
  const remove = (): void => {
    for (const signal of SIGNALS) process.off(signal, onSignal);
  };
  const finish = (code: number): void => {
    remove();
    process.exitCode = code;
    if (options.exit) process.exit(code);
  };
  function onSignal(signal: NodeJS.Signals): void {
    received += 1;
    if (received > 1) {
      logger.warn(`received ${signal} again; stopping now`, { "tq.signal": signal });
      // The first signal's handler reports how the stop ended.
      worker.stop({ timeoutMs: 0 }).catch(() => {});
      return;
    }
    logger.info(`received ${signal}; stopping gracefully (send it again to stop at once)`, {
      "tq.signal": signal,
    });
    worker.stop().then(
      () => finish(0),
      (error: unknown) => {
        logger.error("worker did not stop cleanly", { error });
        finish(1);
      },
    );
  }
  for (const signal of SIGNALS) process.on(signal, onSignal);
  return remove;
}
