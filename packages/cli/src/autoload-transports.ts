import { pathToFileURL } from "node:url";
import {
  findTransport,
  KNOWN_TRANSPORT_PACKAGES,
  redactUrl,
  registerTransport,
  schemeOf,
  TqError,
  type TransportPlugin,
} from "@tq/core";
import { resolvePackageEntry } from "./resolve-package.js";

/** A URL together with the words that name it in errors, e.g. `{ url, label: "broker URL" }`. */
export interface LabeledUrl {
  /** The broker or result backend URL. */
  readonly url: string;
  /** What the URL is, as the error message should call it. @default "URL" */
  readonly label: string;
}

/** Which package serves a URL scheme, and the name of the transport plugin it exports. */
export interface TransportPackage {
  /** Package name, e.g. `@tq/redis`. */
  readonly package: string;
  /** Named export holding the {@link TransportPlugin}, e.g. `redisTransport`. */
  readonly exportName: string;
}

/** A transport plugin {@link autoloadTransports} imported: where from, and under which export. */
export interface LoadedTransport {
  /** File URL of the package's entry point. */
  readonly module: string;
  /** The export holding the plugin, e.g. `redisTransport`. */
  readonly exportName: string;
}

/** Options of {@link autoloadTransports}. */
export interface AutoloadTransportsOptions {
  /**
   * Directory the transport packages are resolved from: the application's (the directory of its app
   * module), whose `node_modules` hold what the application installed.
   */
  from: string;
  /**
   * Scheme → package map.
   * @default KNOWN_TRANSPORT_PACKAGES from `@tq/core`
   */
  packages?: Readonly<Record<string, TransportPackage>>;
}

/**
 * Registers the transport for each URL whose scheme has none yet, by importing the package that serves
 * it from the application's directory: `redis://…` loads `@tq/redis` and registers its `redisTransport`.
 * This is the one place tq maps a scheme to a package (core never imports a package by name); the
 * application may also register transports itself, and those are left alone. Resolves with the
 * plugins it imported, so that a worker's threads or processes can register the same ones.
 *
 * Rejects with `TQ_MISSING_PACKAGE` when the package is not installed (the message carries the
 * `npm install` command), `TQ_UNKNOWN_SCHEME` when no package is known for the scheme, and
 * `TQ_CONFIG` when the package is there but does not export a fitting plugin.
 */
export async function autoloadTransports(
  urls: readonly (string | LabeledUrl)[],
  options: AutoloadTransportsOptions,
): Promise<LoadedTransport[]> {
  const packages = options.packages ?? KNOWN_TRANSPORT_PACKAGES;
  const loaded: LoadedTransport[] = [];
  for (const entry of urls) {
    const { url, label } = typeof entry === "string" ? { url: entry, label: "URL" } : entry;
    const scheme = schemeOf(url);
    if (findTransport(scheme)) continue;
    const known = Object.hasOwn(packages, scheme) ? packages[scheme] : undefined;
    const shown = `${label} ${redactUrl(url)}`;
    if (!known) {
      throw new TqError(
        "TQ_UNKNOWN_SCHEME",
        `${shown}: no transport is registered for "${scheme}:" and no tq package is known to serve it; ` +
          "register one with registerTransport() in the app module",
      );
    }
    const { plugin, module } = await importPlugin(known, shown, options.from);
    registerTransport(plugin);
    loaded.push({ module, exportName: known.exportName });
    if (!findTransport(scheme)) {
      throw new TqError(
        "TQ_CONFIG",
        `${shown}: ${known.package}'s ${known.exportName} does not serve "${scheme}:" (it serves ${plugin.schemes.join(", ")})`,
      );
    }
  }
  return loaded;
}

async function importPlugin(
  known: TransportPackage,
  shown: string,
  from: string,
): Promise<{ plugin: TransportPlugin; module: string }> {
  const entry = resolvePackageEntry(known.package, from);
  if (entry === undefined) {
    throw new TqError(
      "TQ_MISSING_PACKAGE",
      `${shown} needs the ${known.package} package: npm install ${known.package}`,
    );
  }
  const url = pathToFileURL(entry).href;
  let module: Record<string, unknown>;
  try {
    module = (await import(url)) as Record<string, unknown>;
  } catch (cause) {
    throw loadFailure(known.package, shown, cause);
  }
  const plugin = module[known.exportName];
  if (!isTransportPlugin(plugin)) {
    throw new TqError(
      "TQ_CONFIG",
      `${shown}: ${known.package} (${entry}) exports no transport plugin named ${known.exportName}; ` +
        "is an old version installed?",
    );
  }
  return { plugin, module: url };
}

// A transport package's own peer dependency (ioredis for @tq/redis…) is the usual reason an installed
// package fails to load, so that case gets the install command too.
function loadFailure(packageName: string, shown: string, cause: unknown): TqError {
  const message = cause instanceof Error ? cause.message : String(cause);
  const code = (cause as { code?: unknown } | null)?.code;
  const missing =
    code === "ERR_MODULE_NOT_FOUND" ? /Cannot find package '([^']+)'/.exec(message)?.[1] : undefined;
  if (missing !== undefined) {
    return new TqError(
      "TQ_MISSING_PACKAGE",
      `${shown} needs ${packageName}, which needs the ${missing} package: npm install ${missing}`,
      { cause },
    );
  }
  return new TqError("TQ_CONFIG", `${shown}: loading ${packageName} failed: ${message}`, { cause });
}

function isTransportPlugin(value: unknown): value is TransportPlugin {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as Partial<Record<keyof TransportPlugin, unknown>>;
  return (
    typeof candidate.name === "string" &&
    Array.isArray(candidate.schemes) &&
    candidate.schemes.every((scheme) => typeof scheme === "string")
  );
}
