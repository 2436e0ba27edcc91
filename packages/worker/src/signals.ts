import type { Logger } from "@tq/core";

/** Options of `Worker.installSignalHandlers`. */
export interface SignalHandlerOptions {
  /**
   * Call `process.exit()` once the worker stopped, instead of only setting `process.exitCode` and
   * letting the event loop empty. The process exits anyway when the stop gave up on running tasks
   * (cold shutdown, or the shutdown timeout passed), so they do not go on in the background.
   * @default false
   */
  exit?: boolean;
}

/** The part of a worker the signal handlers drive. */
export interface Stoppable {
  stop(options?: { timeoutMs?: number }): Promise<void>;
  /** Tasks the stop gave up on while they still ran. */
  readonly abandoned: number;
}

const SIGNALS = ["SIGINT", "SIGTERM", "SIGQUIT"] as const;

/**
 * Celery's shutdowns: SIGTERM or SIGINT (Ctrl-C) start a warm shutdown (no new tasks, running ones
 * finish within the shutdown timeout); SIGQUIT, or a second SIGTERM/SIGINT, a cold one (running tasks
 * are aborted at once and their messages given back: requeued, or published again if acked early).
 * Returns a function that removes the handlers; they are also removed once the worker stopped, so a
 * later signal acts as Node's default again.
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
    // A task given up on may still be running (a JavaScript promise cannot be stopped), and its message
    // is back in the queue for another worker: the process exits so that it does not go on here too.
    if (options.exit || worker.abandoned > 0) process.exit(code);
  };
  function onSignal(signal: NodeJS.Signals): void {
    received += 1;
    const cold = signal === "SIGQUIT" || received > 1;
    if (cold) {
      logger.warn(
        `received ${signal}; cold shutdown: aborting running tasks and giving their messages back`,
        {
          "tq.signal": signal,
        },
      );
    } else {
      logger.info(
        `received ${signal}; warm shutdown: running tasks may finish (send it again to stop at once)`,
        {
          "tq.signal": signal,
        },
      );
    }
    // Only the first signal's handler reports how the stop ended.
    if (received > 1) {
      worker.stop({ timeoutMs: 0 }).catch(() => {});
      return;
    }
    worker.stop(cold ? { timeoutMs: 0 } : {}).then(
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
