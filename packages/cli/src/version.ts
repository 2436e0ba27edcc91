import { readFileSync } from "node:fs";

/**
 * The version of `@tq/cli`, read from its package.json (one directory above both `src/` and `dist/`),
 * so that `tq --version` and the worker banner never disagree with what was installed.
 */
export function cliVersion(): string {
  const manifest: unknown = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
  const version = (manifest as { version?: unknown }).version;
  return typeof version === "string" ? version : "unknown";
}
