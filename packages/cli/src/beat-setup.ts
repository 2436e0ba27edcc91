import { type Beat, createBeat } from "@tq/beat";
import { createPinoLogger } from "@tq/worker";
import { autoloadTransports } from "./autoload-transports.js";
import type { CliContext } from "./context.js";
import type { OpenedApp } from "./open-app.js";

/** Flags that choose where beat keeps its state, shared by `tq beat` and `tq worker -B`. */
export interface BeatStoreFlags {
  /** `--schedule-store URL`: `redis://…`, `mongodb://…`, `memory://`, or a file path. */
  scheduleStore?: string;
  /** `-s, --schedule FILE`: the schedule file (Celery's `-s`). */
  schedule?: string;
}

/**
 * A beat for an opened app: the store from `--schedule-store` or `-s` (else the app's
 * `beatScheduleFilename`), with the transport package a store URL needs imported from the app's
 * directory, as for broker URLs (`redis://` loads `@tq/redis`).
 */
export async function setUpBeat(
  opened: OpenedApp,
  flags: BeatStoreFlags & { loglevel: string },
  context: CliContext,
): Promise<Beat> {
  const store = flags.scheduleStore ?? flags.schedule;
  if (store !== undefined && /^[a-zA-Z][a-zA-Z0-9+.-]+:/.test(store) && !/^(file|memory):/i.test(store)) {
    await autoloadTransports([{ url: store, label: "schedule store URL" }], { from: opened.directory });
  }
  return createBeat(opened.app, {
    ...(store === undefined ? {} : { store }),
    cwd: context.cwd,
    logger: createPinoLogger({ level: flags.loglevel, name: "tq.beat" }),
  });
}

/** The part of a worker `tq worker -B` needs. */
interface StoppableWorker {
  once(event: "stopped", listener: () => void): unknown;
}

/**
 * `tq worker -B`: beat inside the worker process, as Celery's `celery worker -B`. It stops at the
 * worker's first shutdown signal, before the worker closes the app's connections, and gives its lease
 * up so that a beat elsewhere takes over at once.
 */
export async function runBeatInWorker(beat: Beat, worker: StoppableWorker): Promise<void> {
  const stop = (): void => {
    for (const signal of SHUTDOWN_SIGNALS) process.off(signal, stop);
    void beat.stop().catch(() => {});
  };
  for (const signal of SHUTDOWN_SIGNALS) process.on(signal, stop);
  worker.once("stopped", stop);
  await beat.start();
}

const SHUTDOWN_SIGNALS = ["SIGINT", "SIGTERM", "SIGQUIT"] as const;
