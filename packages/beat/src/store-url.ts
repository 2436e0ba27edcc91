import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  findTransport,
  KNOWN_TRANSPORT_PACKAGES,
  type Logger,
  redactUrl,
  type ScheduleStore,
  TqError,
} from "@tq/core";
import { FileScheduleStore } from "./file-store.js";
import { MemoryScheduleStore } from "./memory-store.js";

/** The packages whose transports keep beat schedules. */
const STORE_PACKAGES = new Set(["@tq/redis", "@tq/mongo"]);

/** Options of {@link scheduleStoreFromUrl}. */
export interface ScheduleStoreUrlOptions {
  /** Keeps this app's state apart on a shared server; beat passes the app's name. @default "tq" */
  namespace?: string;
  /** Directory a relative file path is resolved against. @default process.cwd() */
  cwd?: string;
  /** Logger for the store. */
  logger?: Logger;
}

/**
 * A schedule store for a URL or path: a file path or `file://` URL gives a {@link FileScheduleStore},
 * `memory://` a {@link MemoryScheduleStore}, and any other scheme the registered transport's
 * `createScheduleStore` (`redis://` from `@tq/redis`, `mongodb://` from `@tq/mongo`; register it with
 * `registerTransport()` or let `tq beat` load it). Throws `TQ_UNKNOWN_SCHEME` naming the package to
 * install when no registered transport serves the scheme.
 */
export function scheduleStoreFromUrl(target: string, options: ScheduleStoreUrlOptions = {}): ScheduleStore {
  // Two letters at least, so that a Windows path (C:\…) is a path.
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]+):/.exec(target)?.[1]?.toLowerCase();
  if (scheme === undefined)
    return new FileScheduleStore({ path: resolve(options.cwd ?? process.cwd(), target) });
  if (scheme === "file") return new FileScheduleStore({ path: fileURLToPath(target) });
  if (scheme === "memory") return new MemoryScheduleStore();
  const plugin = findTransport(scheme);
  if (plugin?.createScheduleStore) {
    return plugin.createScheduleStore(target, {
      namespace: options.namespace ?? "tq",
      ...(options.logger ? { logger: options.logger } : {}),
    });
  }
  const known = KNOWN_TRANSPORT_PACKAGES[scheme];
  const hint =
    known && STORE_PACKAGES.has(known.package) && !plugin
      ? `install ${known.package} (npm install ${known.package}) and register its ${known.exportName}`
      : "give a file path, memory://, a redis:// or a mongodb:// URL";
  throw new TqError("TQ_UNKNOWN_SCHEME", `no schedule store serves "${redactUrl(target)}": ${hint}`, {
    component: "beat",
  });
}
