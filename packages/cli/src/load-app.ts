import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { type App, TqError } from "@tq/core";

/** Options of {@link loadApp}. */
export interface LoadAppOptions {
  /**
   * Directory a relative module path is resolved against.
   * @default process.cwd()
   */
  cwd?: string;
}

/** An app loaded from its module. */
export interface LoadedApp {
  /** The app the module exports. */
  readonly app: App;
  /** Absolute path of the module file. */
  readonly path: string;
  /** Directory of the module: where its transport packages are resolved from. */
  readonly directory: string;
}

// TypeScript goes through tsx so that `tq worker -A src/tasks.ts` needs no build step.
const TYPESCRIPT_EXTENSIONS: ReadonlySet<string> = new Set([".ts", ".mts", ".cts", ".tsx"]);
// Tried in this order when the path names no file, so `-A src/tasks` works as Celery's `-A proj.tasks`.
const IMPLIED_EXTENSIONS = [".ts", ".mts", ".js", ".mjs"] as const;

/**
 * Imports an application module (`.ts`/`.mts` through tsx, `.js`/`.mjs` natively) and returns the tq
 * app it exports as `app`, or as its default export. Celery's `-A`.
 *
 * Rejects with `TQ_APP_NOT_FOUND` when there is no such file, `TQ_APP_LOAD` when importing it throws,
 * and `TQ_APP_INVALID` when it exports no app.
 */
export async function loadApp(modulePath: string, options: LoadAppOptions = {}): Promise<LoadedApp> {
  const absolute = path.resolve(options.cwd ?? process.cwd(), modulePath);
  const file = findModuleFile(absolute);
  if (file === undefined) {
    throw new TqError(
      "TQ_APP_NOT_FOUND",
      `cannot find the app module ${modulePath} (no file at ${absolute})`,
    );
  }
  let namespace: unknown;
  try {
    namespace = await importModule(file);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new TqError("TQ_APP_LOAD", `loading the app module ${modulePath} failed: ${reason}`, { cause });
  }
  return { app: appExportOf(namespace, modulePath), path: file, directory: path.dirname(file) };
}

/** True for a tq App, checked by shape so that an app made by another copy of `@tq/core` passes too. */
export function isApp(value: unknown): value is App {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return (
    typeof candidate.task === "function" &&
    typeof candidate.sendTask === "function" &&
    typeof candidate.conf === "object" &&
    candidate.conf !== null &&
    candidate.tasks instanceof Map
  );
}

function findModuleFile(absolute: string): string | undefined {
  if (isFile(absolute)) return absolute;
  if (path.extname(absolute) !== "") return undefined;
  for (const extension of IMPLIED_EXTENSIONS) {
    if (isFile(absolute + extension)) return absolute + extension;
  }
  return undefined;
}

function isFile(file: string): boolean {
  return existsSync(file) && statSync(file).isFile();
}

async function importModule(file: string): Promise<unknown> {
  if (TYPESCRIPT_EXTENSIONS.has(path.extname(file))) await enableTypeScript();
  return import(pathToFileURL(file).href);
}

/**
 * What a worker's threads or processes import before a TypeScript app module, so that they load it as
 * this process did: tsx's loader, registered with `register()` (Node 20's worker threads ignore an
 * `--import` in their `execArgv`). Undefined for a JavaScript module.
 */
export function typeScriptPreload(file: string): { module: string; call: string } | undefined {
  if (!TYPESCRIPT_EXTENSIONS.has(path.extname(file))) return undefined;
  return { module: import.meta.resolve("tsx/esm/api"), call: "register" };
}

let typeScriptEnabled: Promise<void> | undefined;

/**
 * Registers tsx's loader for the rest of the process, once. Not `tsImport()`: it loads the module and
 * everything it imports, `@tq/core` included, under a private namespace, so the app would get its own
 * copy of core, apart from the worker's (its `currentTask()` storage and its error classes included).
 * Loaded on demand, so esbuild's start-up is paid only when the app really is TypeScript.
 */
function enableTypeScript(): Promise<void> {
  typeScriptEnabled ??= import("tsx/esm/api").then(({ register }) => {
    register();
  });
  return typeScriptEnabled;
}

function appExportOf(namespace: unknown, modulePath: string): App {
  const exports = (namespace ?? {}) as Record<string, unknown>;
  const [exportName, candidate] =
    exports.app !== undefined ? ["app", exports.app] : ["default", exports.default];
  if (candidate === undefined) {
    throw new TqError(
      "TQ_APP_INVALID",
      `${modulePath} exports no app: add \`export const app = createApp(…)\` to it`,
    );
  }
  if (!isApp(candidate)) {
    throw new TqError(
      "TQ_APP_INVALID",
      `the ${exportName} export of ${modulePath} is not a tq app (make it with createApp() from @tq/core)`,
    );
  }
  return candidate;
}
