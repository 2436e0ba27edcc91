import type { ScheduleStoreFactoryOptions, TransportFactoryOptions, TransportPlugin } from "@tq/core";
import { MongoBackend } from "./backend.js";
import type { MongoBackendOptions } from "./backend-options.js";
import { MongoBroker } from "./broker.js";
import type { MongoBrokerOptions } from "./broker-options.js";
import { MongoScheduleStore } from "./schedule-store.js";
import { translateTransportOptions } from "./transport-options.js";
import { MONGO_SCHEMES } from "./url.js";

const CONNECTION_OPTIONS = ["database", "clientOptions"] as const;

const BROKER_OPTIONS = [
  ...CONNECTION_OPTIONS,
  "collection",
  "visibilityTimeoutMs",
  "visibilityRefreshIntervalMs",
  "pollIntervalMs",
  "maxPollIntervalMs",
  "deadLetterQueue",
  "disableChangeStreams",
  "broadcastTtlMs",
] as const;

const BACKEND_OPTIONS = [
  ...CONNECTION_OPTIONS,
  "taskmetaCollection",
  "groupmetaCollection",
  "chordCollection",
  "resultExpiresMs",
  "pollIntervalMs",
  "maxPollIntervalMs",
  "disableChangeStreams",
] as const;

/**
 * The MongoDB transport plugin: `mongodb://` and `mongodb+srv://` URLs as brokers and result
 * backends. Register it with `registerTransport(mongoTransport)` or pass it in
 * `createApp({ transports: [mongoTransport] })`; the `tq` CLI loads it by itself for these URLs.
 * The app's `brokerTransportOptions` / `resultBackendTransportOptions` reach the broker and backend,
 * under tq's names or Celery's (`visibility_timeout` in seconds, `taskmeta_collection`, …). The same
 * URLs serve `@tq/beat` as schedule stores (`tq beat --schedule-store mongodb://…`).
 */
export const mongoTransport: TransportPlugin = Object.freeze({
  name: "mongo",
  schemes: Object.freeze([...MONGO_SCHEMES]),
  createBroker: (url: string, options: TransportFactoryOptions) =>
    new MongoBroker({
      ...(translateTransportOptions(
        options.transportOptions,
        BROKER_OPTIONS,
        options.logger,
      ) as Partial<MongoBrokerOptions>),
      url,
      ...(options.logger ? { logger: options.logger } : {}),
    }),
  createBackend: (url: string, options: TransportFactoryOptions) =>
    new MongoBackend({
      ...(options.resultExpiresMs === undefined ? {} : { resultExpiresMs: options.resultExpiresMs }),
      ...(translateTransportOptions(
        options.transportOptions,
        BACKEND_OPTIONS,
        options.logger,
      ) as Partial<MongoBackendOptions>),
      url,
      ...(options.logger ? { logger: options.logger } : {}),
    }),
  createScheduleStore: (url: string, options: ScheduleStoreFactoryOptions) =>
    new MongoScheduleStore({
      url,
      namespace: options.namespace,
      ...(options.logger ? { logger: options.logger } : {}),
    }),
});
