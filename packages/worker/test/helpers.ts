import {
  type AppOptions,
  buildTaskMessage,
  createApp,
  jsonSerializer,
  type LogAttributes,
  type Logger,
  MemoryBackend,
  MemoryBroker,
  MemoryServer,
  type TransportMessage,
} from "@tq/core";
import { createWorker, type WorkerOptions } from "../src/index.js";

/** One line a {@link RecordingLogger} received. */
export interface LogRecord {
  level: "error" | "warn" | "info" | "debug";
  message: string;
  attributes: LogAttributes;
}

/** A logger that keeps what it is given, so tests can read the worker's log lines. */
export interface RecordingLogger extends Logger {
  readonly records: LogRecord[];
}

export function recordingLogger(): RecordingLogger {
  const records: LogRecord[] = [];
  const at =
    (level: LogRecord["level"]) =>
    (message: string, attributes: LogAttributes = {}): void => {
      records.push({ level, message, attributes });
    };
  return { records, error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") };
}

const cleanups: (() => Promise<void>)[] = [];

/** Stops every worker and closes every broker and backend the test made; pass it to `afterEach`. */
export async function cleanUp(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
}

export interface HarnessOptions {
  app?: AppOptions;
  worker?: WorkerOptions;
  /** Share a server with another harness: two brokers on one server are two processes. */
  server?: MemoryServer;
  /** Share a result backend with another harness. */
  backend?: MemoryBackend;
}

/** An app on its own memory server and backend, and a worker for it (not started). */
export function makeHarness(options: HarnessOptions = {}) {
  const server = options.server ?? new MemoryServer();
  const broker = new MemoryBroker({ server });
  const backend = options.backend ?? new MemoryBackend({ server });
  const logger = recordingLogger();
  const app = createApp({ broker, resultBackend: backend, env: false, logger, ...options.app });
  const worker = createWorker(app, { shutdownTimeoutMs: 5_000, ...options.worker });
  cleanups.push(async () => {
    await worker.stop({ timeoutMs: 0 });
    await broker.close();
    if (!options.backend) await backend.close();
  });
  return { server, broker, backend, logger, app, worker };
}

/** A well-formed JSON task message, to be altered or published as it is. */
export function taskMessage(
  task: string,
  args: unknown[] = [],
  extra: { eta?: Date } = {},
): TransportMessage {
  return buildTaskMessage({ id: crypto.randomUUID(), task, args, kwargs: {}, ...extra }, jsonSerializer);
}

/** Publishes a message straight to a queue, as any client of the broker could. */
export function publishRaw(broker: MemoryBroker, queue: string, message: TransportMessage): Promise<void> {
  return broker.publish(message, { exchange: "", routingKey: queue });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
