import { randomUUID } from "node:crypto";
import {
  type App,
  type AppOptions,
  type Broker,
  createApp,
  type LogAttributes,
  type Logger,
  type ResultBackend,
} from "@tq/core";
import { createWorker, type Worker, type WorkerOptions } from "@tq/worker";

/** Options of {@link runWorkerConformance}. */
export interface WorkerConformanceOptions {
  /** Shown in the test names, e.g. `"redis"`. */
  name: string;
  /** Returns a NEW broker instance on the same server on every call (each app gets its own). */
  createBroker: () => Broker;
  /** Returns a NEW result backend instance on the same store on every call. */
  createBackend: () => ResultBackend;
  /**
   * URLs of the same broker and backend, for tests whose tasks run in another thread or process (the
   * `threads` and `processes` pools): the child loads the app module, which connects by URL. Tests that
   * need them are skipped without them (an in-memory transport cannot be shared with a child process).
   */
  brokerUrl?: string;
  /** See {@link brokerUrl}. */
  backendUrl?: string;
  /**
   * Transport plugins the pool tests' children register before they load the suite's app module (a
   * child has none of the test's registrations): where each plugin is exported from.
   * @default the package serving each URL's scheme (`KNOWN_TRANSPORT_PACKAGES`), resolved from the
   *   current directory, e.g. `@tq/redis`'s `redisTransport` when the suite runs in packages/redis
   */
  childTransports?: readonly { module: string; exportName: string }[];
  /** How long to wait for a result before failing. @default 10_000 */
  timeoutMs?: number;
}

/** One line a test's logger received. */
export interface SuiteLogRecord {
  level: "error" | "warn" | "info" | "debug";
  message: string;
  attributes: LogAttributes;
}

/** What a worker conformance test gets: its own queue, apps and workers, all closed after it. */
export class WorkerHarness {
  /** Suite options. */
  readonly options: Required<Pick<WorkerConformanceOptions, "timeoutMs">> & WorkerConformanceOptions;
  /** A queue of this test's own; apps made by {@link makeApp} send to it by default. */
  readonly queue = `tqwt-${randomUUID().slice(0, 8)}`;
  /** Every line logged by the apps and workers of this test. */
  readonly records: SuiteLogRecord[] = [];
  /** A logger that keeps what it is given in {@link records}. */
  readonly logger: Logger;
  readonly #apps: App[] = [];
  readonly #workers: Worker[] = [];

  constructor(options: WorkerConformanceOptions) {
    this.options = { timeoutMs: 10_000, ...options };
    const at =
      (level: SuiteLogRecord["level"]) =>
      (message: string, attributes: LogAttributes = {}): void => {
        this.records.push({ level, message, attributes });
      };
    this.logger = { error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") };
  }

  /** An app on a new broker and backend instance, sending to this test's queue. */
  makeApp(options: AppOptions = {}): App {
    const app = createApp({
      broker: this.options.createBroker(),
      resultBackend: this.options.createBackend(),
      env: false,
      logger: this.logger,
      taskDefaultQueue: this.queue,
      ...options,
    });
    this.#apps.push(app);
    return app;
  }

  /** A started worker for the app, consuming this test's queue; stopped after the test. */
  async startWorker(app: App, options: WorkerOptions = {}): Promise<Worker> {
    const worker = createWorker(app, {
      queues: [this.queue],
      shutdownTimeoutMs: 5_000,
      logger: this.logger,
      ...options,
    });
    this.#workers.push(worker);
    await worker.start();
    return worker;
  }

  /** Stops the workers and closes the apps; instances given to apps are closed here too. */
  async cleanup(): Promise<void> {
    await Promise.allSettled(this.#workers.map((worker) => worker.stop({ timeoutMs: 1_000 })));
    for (const app of this.#apps) {
      const broker = await app.getBroker().catch(() => undefined);
      await broker?.purge(this.queue).catch(() => {});
      await app.close().catch(() => {});
      await broker?.close().catch(() => {});
      if (app.hasResultBackend)
        await (await app.getBackend().catch(() => undefined))?.close().catch(() => {});
    }
  }
}
