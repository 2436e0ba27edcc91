import type { Broker, ResultBackend } from "@tq/core";

/** Reads a broker server's real state, bypassing the broker under test. */
export interface BrokerProbe {
  /** Messages of a queue waiting to be delivered. */
  readyCount(queue: string): Promise<number>;
  /** Messages of a queue delivered to a consumer and not settled yet. Checked when given. */
  inFlightCount?(queue: string): Promise<number>;
}

/** Options of {@link runBrokerConformance}. */
export interface BrokerConformanceOptions {
  /** Shown in the test names, e.g. `"redis"`. */
  name: string;
  /**
   * Returns a NEW broker instance connected to the same server on every call: the suite uses
   * several to play several workers, and closes one to play a worker that goes away. The suite
   * connects and closes the instances it gets.
   */
  createBroker: () => Broker | Promise<Broker>;
  /** Reads queue depth (and in-flight count) on the server; without it, `queueLength` stands in. */
  probe?: BrokerProbe;
  /** Prefix of every queue and exchange name the suite uses. @default `tqct-<random>`, new per run */
  queuePrefix?: string;
  /** How long to wait for a delivery (or a probe to show a state) before failing. @default 5_000 */
  timeoutMs?: number;
  /** How long "nothing more arrives" is watched for. @default 150 */
  quietPeriodMs?: number;
  /**
   * Which messages the broker serves first when `capabilities.priorities` is true: the higher
   * `properties.priority` numbers (AMQP) or the lower ones (Celery's Redis transport).
   * @default "higher-first"
   */
  priorityOrder?: "higher-first" | "lower-first";
  /** Called after each test with the queue names it used, e.g. to delete them on the server. */
  cleanup?: (queues: readonly string[]) => Promise<void>;
}

/** Options of {@link runBackendConformance}. */
export interface BackendConformanceOptions {
  /** Shown in the test names, e.g. `"redis"`. */
  name: string;
  /** Returns a NEW backend instance on the same store on every call (a client and workers). */
  createBackend: () => ResultBackend | Promise<ResultBackend>;
  /** Prefix of every task, group and chord id the suite uses. @default `tqct-<random>`, new per run */
  idPrefix?: string;
  /** How long to wait for a result or a state before failing. @default 5_000 */
  timeoutMs?: number;
  /** How long "still waiting" is watched for. @default 150 */
  quietPeriodMs?: number;
  /** Runs the expiry test (a document stored with a short `expiresMs` disappears). @default true */
  supportsExpiry?: boolean;
  /** The short expiry the expiry test stores with. @default 1_000 */
  expiryMs?: number;
  /**
   * How long past `expiryMs` the expiry test waits for the document to go, for stores that expire
   * in the background. @default 5_000
   */
  expiryGraceMs?: number;
}

/** A run-unique prefix, so that tests against a shared server never see each other's state. */
export function uniquePrefix(): string {
  return `tqct-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}
