import { existsSync, readFileSync, realpathSync } from "node:fs";
import path from "node:path";
import { TqError } from "@tq/core";

// The conditions Node's ESM loader matches when it imports a package (besides "default").
const IMPORT_CONDITIONS: ReadonlySet<string> = new Set(["node", "import", "default"]);

/**
 * The file `import(name)` would load when run from a module in directory `from`, or undefined when
 * the package is not installed where `from` can see it.
 *
 * This follows Node's ESM resolution by hand (look in `node_modules` of `from` and each parent, then
 * resolve `exports["."]` with the `node`/`import`/`default` conditions, else `main`) because Node 20.19
 * offers no supported way to do it: `import.meta.resolve(name, parent)` needs a flag before Node 22,
 * and `createRequire(from).resolve()` matches `require` conditions, so it fails on ESM-only packages
 * whose `exports` name only `import`.
 */
export function resolvePackageEntry(name: string, from: string): string | undefined {
  for (let directory = path.resolve(from); ; directory = path.dirname(directory)) {
    const root = path.join(directory, "node_modules", name);
    const manifestPath = path.join(root, "package.json");
    if (existsSync(manifestPath)) {
      const target = entryOf(readManifest(name, manifestPath));
      if (target === undefined) {
        throw new TqError(
          "TQ_CONFIG",
          `the installed ${name} (${root}) has no entry point that import() can load`,
        );
      }
      // Node imports the real path of a symlinked package (pnpm, npm link); importing the link's path
      // instead would load a second copy of the package next to the one the application imports.
      return realpathSync(path.resolve(root, target));
    }
    if (path.dirname(directory) === directory) return undefined;
  }
}

interface Manifest {
  exports?: unknown;
  main?: unknown;
}

function readManifest(name: string, manifestPath: string): Manifest {
  try {
    const parsed: unknown = JSON.parse(readFileSync(manifestPath, "utf8"));
    return typeof parsed === "object" && parsed !== null ? (parsed as Manifest) : {};
  } catch (cause) {
    throw new TqError("TQ_CONFIG", `cannot read ${manifestPath} of ${name}`, { cause });
  }
}

function entryOf(manifest: Manifest): string | undefined {
  const { exports } = manifest;
  if (exports === undefined || exports === null) {
    return typeof manifest.main === "string" && manifest.main !== "" ? manifest.main : "index.js";
  }
  if (typeof exports === "object" && !Array.isArray(exports)) {
    const keys = Object.keys(exports);
    // An exports object either maps subpaths ("." , "./x") or is the conditions of "." itself.
    if (keys.some((key) => key.startsWith(".")))
      return exportTarget((exports as Record<string, unknown>)["."]);
  }
  return exportTarget(exports);
}

function exportTarget(target: unknown): string | undefined {
  if (typeof target === "string") return target.startsWith("./") ? target : undefined;
  if (Array.isArray(target)) {
    for (const candidate of target) {
      const resolved = exportTarget(candidate);
      if (resolved !== undefined) return resolved;
    }
    return undefined;
  }
  if (typeof target === "object" && target !== null) {
    // Node takes the first matching condition in the object's own key order, not in a fixed order.
    for (const [condition, value] of Object.entries(target)) {
      if (!IMPORT_CONDITIONS.has(condition)) continue;
      const resolved = exportTarget(value);
      if (resolved !== undefined) return resolved;
    }
  }
  return undefined;
}
