import { isAbsolute } from "node:path";
import { pathToFileURL } from "node:url";
import { type App, TqError } from "@tq/core";

/** The module's `app` export, else its default export, as `tq worker -A` finds it. */
export async function loadAppModule(specifier: string): Promise<App> {
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(importable(specifier))) as Record<string, unknown>;
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new TqError("TQ_APP_LOAD", `loading the app module ${specifier} failed: ${reason}`, {
      component: "pool",
      cause,
    });
  }
  const candidate = namespace.app !== undefined ? namespace.app : namespace.default;
  if (!isAppLike(candidate)) {
    throw new TqError(
      "TQ_APP_INVALID",
      `${specifier} exports no tq app: export it as \`app\` or as the default export`,
      { component: "pool" },
    );
  }
  return candidate;
}

/** A path becomes a file URL (Windows paths are not URLs); URLs and bare specifiers stay. */
export function importable(specifier: string): string {
  return isAbsolute(specifier) ? pathToFileURL(specifier).href : specifier;
}

// By shape, so that an app made by another copy of @tq/core (the app's own) passes too.
function isAppLike(value: unknown): value is App {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return (
    typeof candidate.task === "function" &&
    typeof candidate.sendTask === "function" &&
    typeof candidate.configure === "function" &&
    typeof candidate.conf === "object" &&
    candidate.tasks instanceof Map
  );
}
