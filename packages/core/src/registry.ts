import type { Broker } from "./broker.js";
import { TqError } from "./errors.js";
import type { Logger } from "./logger.js";
import { memoryTransport } from "./memory/index.js";
import type { ResultBackend } from "./result-backend.js";
import type { ScheduleStore, ScheduleStoreFactoryOptions } from "./schedule-store.js";

/** What a transport factory receives besides the URL. */
export interface TransportFactoryOptions {
  /** Logger for the created broker or backend. */
  logger?: Logger;
  /**
   * Transport-specific options from the app's configuration (`brokerTransportOptions` for a broker,
   * `resultBackendTransportOptions` for a backend). A transport validates the ones it knows and
   * reports unknown ones.
   */
  transportOptions?: Readonly<Record<string, unknown>>;
  /**
   * The app's broker URL, for backends that talk through the broker's server (Celery's `rpc://`
   * sends results over the broker connection). Backends only.
   */
  brokerUrl?: string;
  /** The app's result expiry in ms (`resultExpires`); null keeps results forever. Backends only. */
  resultExpiresMs?: number | null;
}

/**
 * A transport package's plugin object: factories for the URL schemes it serves. The application
 * registers it explicitly with {@link registerTransport}; importing a package never registers anything.
 */
export interface TransportPlugin {
  /** Package-level name, e.g. `redis`. Two plugins with the same name are copies of one package. */
  readonly name: string;
  /** URL schemes without the colon, e.g. `["redis", "rediss"]`. */
  readonly schemes: readonly string[];
  /** Creates a broker for a URL of one of its schemes. */
  createBroker?(url: string, options: TransportFactoryOptions): Broker;
  /** Creates a result backend for a URL of one of its schemes. */
  createBackend?(url: string, options: TransportFactoryOptions): ResultBackend;
  /** Creates a beat schedule store (last-run times, run-time entries, the beat lease) for a URL of one of its schemes. */
  createScheduleStore?(url: string, options: ScheduleStoreFactoryOptions): ScheduleStore;
}

interface Registry {
  readonly byScheme: Map<string, TransportPlugin>;
}

// One registry per process, even when two copies of @tq/core are installed (OpenTelemetry's trick).
const registryKey = Symbol.for("tq.registry.v1");

function registry(): Registry {
  const holder = globalThis as unknown as Record<symbol, Registry | undefined>;
  let current = holder[registryKey];
  if (!current) {
    current = { byScheme: new Map() };
    holder[registryKey] = current;
  }
  return current;
}

/**
 * Registers a transport for its schemes. Registering the same plugin (or a copy of the same package,
 * i.e. the same `name`) again is a no-op; a different plugin claiming a taken scheme throws
 * `TQ_TRANSPORT_CONFLICT` instead of silently replacing it.
 */
export function registerTransport(plugin: TransportPlugin): void {
  const { byScheme } = registry();
  for (const scheme of plugin.schemes) {
    const existing = byScheme.get(normalizeScheme(scheme));
    if (existing && existing.name !== plugin.name) {
      throw new TqError(
        "TQ_TRANSPORT_CONFLICT",
        `scheme "${scheme}:" is already registered by transport "${existing.name}"; "${plugin.name}" cannot take it`,
      );
    }
  }
  for (const scheme of plugin.schemes) {
    if (!byScheme.has(normalizeScheme(scheme))) byScheme.set(normalizeScheme(scheme), plugin);
  }
}

/** Removes a transport's schemes from the registry (tests, hot reload). */
export function unregisterTransport(plugin: TransportPlugin): void {
  const { byScheme } = registry();
  for (const [scheme, registered] of byScheme) {
    if (registered.name === plugin.name) byScheme.delete(scheme);
  }
}

/** The plugin registered for a scheme, if any; `memory:` is built in unless something else claimed it. */
export function findTransport(scheme: string): TransportPlugin | undefined {
  const normalized = normalizeScheme(scheme);
  return (
    registry().byScheme.get(normalized) ??
    (memoryTransport.schemes.includes(normalized) ? memoryTransport : undefined)
  );
}

/** Schemes currently registered. */
export function registeredSchemes(): string[] {
  return [...new Set([...registry().byScheme.keys(), ...memoryTransport.schemes])].sort();
}

/** The scheme of a URL, lower-cased and without the colon (`redis+sentinel://…` → `redis+sentinel`). */
export function schemeOf(url: string): string {
  const match = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url);
  if (!match?.[1]) {
    throw new TqError(
      "TQ_CONFIG",
      `"${redactUrl(url)}" is not a URL with a scheme (e.g. redis://localhost:6379/0)`,
    );
  }
  return normalizeScheme(match[1]);
}

/**
 * Which published package serves a scheme, for the CLI and the application helper that load
 * transports by URL. Third-party schemes are absent: their packages are registered by the application.
 */
export const KNOWN_TRANSPORT_PACKAGES: Readonly<Record<string, { package: string; exportName: string }>> =
  Object.freeze({
    redis: { package: "@tq/redis", exportName: "redisTransport" },
    rediss: { package: "@tq/redis", exportName: "redisTransport" },
    "redis+sentinel": { package: "@tq/redis", exportName: "redisTransport" },
    "redis+cluster": { package: "@tq/redis", exportName: "redisTransport" },
    amqp: { package: "@tq/amqp", exportName: "amqpTransport" },
    amqps: { package: "@tq/amqp", exportName: "amqpTransport" },
    pyamqp: { package: "@tq/amqp", exportName: "amqpTransport" },
    rpc: { package: "@tq/amqp", exportName: "amqpTransport" },
    sqs: { package: "@tq/sqs", exportName: "sqsTransport" },
    mongodb: { package: "@tq/mongo", exportName: "mongoTransport" },
    "mongodb+srv": { package: "@tq/mongo", exportName: "mongoTransport" },
  });

function unknownScheme(url: string, what: string): TqError {
  const scheme = schemeOf(url);
  const known = KNOWN_TRANSPORT_PACKAGES[scheme];
  const hint = known
    ? `install ${known.package} (npm install ${known.package}) and call registerTransport(${known.exportName}) from it, or pass a ${what} instance`
    : `register a transport for "${scheme}:" with registerTransport(), or pass a ${what} instance`;
  return new TqError(
    "TQ_UNKNOWN_SCHEME",
    `no transport registered for "${scheme}:" (registered: ${registeredSchemes().join(", ") || "none"}); ${hint}`,
  );
}

/** Creates a broker from a URL through the registered transport for its scheme. */
export function createBroker(url: string, options: TransportFactoryOptions = {}): Broker {
  const plugin = findTransport(schemeOf(url));
  if (!plugin?.createBroker) throw unknownScheme(url, "broker");
  return plugin.createBroker(url, options);
}

/** Creates a result backend from a URL through the registered transport for its scheme. */
export function createResultBackend(url: string, options: TransportFactoryOptions = {}): ResultBackend {
  const plugin = findTransport(schemeOf(url));
  if (!plugin?.createBackend) throw unknownScheme(url, "result backend");
  return plugin.createBackend(url, options);
}

/** Hides a password in a URL for logs and error messages. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@/]*@/, "$1***@");
}

function normalizeScheme(scheme: string): string {
  return scheme.toLowerCase().replace(/:$/, "");
}
