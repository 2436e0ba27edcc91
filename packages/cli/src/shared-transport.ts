import { type App, type Broker, MemoryBackend, MemoryBroker, type ResultBackend, TqError } from "@tq/core";

/**
 * The app's broker, connected; rejects with `TQ_CONFIG` when it is the in-memory one, which lives
 * inside this process: a task sent there would never reach a worker, and a purge would find nothing.
 */
export async function requireSharedBroker(app: App): Promise<Broker> {
  const broker = await app.getBroker();
  if (isInProcess(broker)) {
    throw new TqError(
      "TQ_CONFIG",
      "the broker is memory://, which only this process can reach: pass --broker URL or set TQ_BROKER_URL " +
        "(e.g. redis://localhost:6379/0)",
    );
  }
  return broker;
}

/** The app's result backend, connected; rejects with `TQ_CONFIG` when there is none or it is in-memory. */
export async function requireSharedBackend(app: App): Promise<ResultBackend> {
  if (!app.hasResultBackend) {
    throw new TqError(
      "TQ_CONFIG",
      "the app has no result backend: pass --result-backend URL or set TQ_RESULT_BACKEND to read results",
    );
  }
  const backend = await app.getBackend();
  if (isInProcess(backend)) {
    throw new TqError(
      "TQ_CONFIG",
      "the result backend is memory://, which only this process can reach: pass --result-backend URL " +
        "or set TQ_RESULT_BACKEND (e.g. redis://localhost:6379/1)",
    );
  }
  return backend;
}

/**
 * True for core's in-memory broker or backend. Checked on the instance rather than on `conf.brokerUrl`,
 * which says memory:// (the default) when the app was given a broker instance; the name comparison
 * covers an app that got its own copy of `@tq/core`.
 */
export function isInProcess(instance: Broker | ResultBackend): boolean {
  return [MemoryBroker, MemoryBackend].some(
    (memoryClass) => instance instanceof memoryClass || instance.constructor.name === memoryClass.name,
  );
}
