import type { ScheduleStoreFactoryOptions, TransportFactoryOptions, TransportPlugin } from "@tq/core";
import { RedisBackend } from "./backend.js";
import type { RedisBackendOptions } from "./backend-options.js";
import { RedisBroker } from "./broker.js";
import type { RedisBrokerOptions } from "./broker-options.js";
import { RedisScheduleStore } from "./schedule-store.js";
import { translateTransportOptions } from "./transport-options.js";

const BROKER_OPTIONS = [
  "keyPrefix",
  "visibilityTimeoutMs",
  "pollIntervalMs",
  "prioritySteps",
  "restoreIntervalMs",
  "visibilityRefreshIntervalMs",
  "redisOptions",
  "clusterOptions",
] as const;

const BACKEND_OPTIONS = [
  "keyPrefix",
  "resultExpiresMs",
  "chordOrdered",
  "redisOptions",
  "clusterOptions",
] as const;

/**
 * The Redis transport plugin: `redis://`, `rediss://`, `redis+sentinel://` and `redis+cluster://`
 * URLs as brokers and result backends. Register it with `registerTransport(redisTransport)` or pass
 * it in `createApp({ transports: [redisTransport] })`; the `tq` CLI loads it by itself for these URLs.
 * The app's `brokerTransportOptions` / `resultBackendTransportOptions` reach the broker and backend,
 * under tq's names or Celery's (`visibility_timeout` in seconds, `global_keyprefix`, …). The same
 * URLs serve `@tq/beat` as schedule stores (`tq beat --schedule-store redis://…`).
 */
export const redisTransport: TransportPlugin = Object.freeze({
  name: "redis",
  schemes: Object.freeze(["redis", "rediss", "redis+sentinel", "redis+cluster"]),
  createBroker: (url: string, options: TransportFactoryOptions) =>
    new RedisBroker({
      ...(translateTransportOptions(
        options.transportOptions,
        BROKER_OPTIONS,
        options.logger,
      ) as Partial<RedisBrokerOptions>),
      url,
      ...(options.logger ? { logger: options.logger } : {}),
    }),
  createBackend: (url: string, options: TransportFactoryOptions) =>
    new RedisBackend({
      ...(options.resultExpiresMs === undefined ? {} : { resultExpiresMs: options.resultExpiresMs }),
      ...(translateTransportOptions(
        options.transportOptions,
        BACKEND_OPTIONS,
        options.logger,
      ) as Partial<RedisBackendOptions>),
      url,
      ...(options.logger ? { logger: options.logger } : {}),
    }),
  createScheduleStore: (url: string, options: ScheduleStoreFactoryOptions) =>
    new RedisScheduleStore({
      url,
      namespace: options.namespace,
      ...(options.logger ? { logger: options.logger } : {}),
    }),
});
