#!/usr/bin/env node
// Enforces the dependency table and package conventions of shared/STYLE.md (OpenTelemetry's
// peer-api-check idea), plus a runtime import-cycle check on @tq/core. Prints one line per problem.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const CLIENT_LIBRARIES = ["ioredis", "amqplib", "@aws-sdk/client-sqs", "mongodb"];
const LEAF_PACKAGES = new Set(["@tq/cli"]); // application-level: depends on core/worker/beat directly
const problems = [];
const fail = (pkg, message) => problems.push(`${pkg}: ${message}`);

for (const dir of readdirSync(join(root, "packages"))) {
  const pkgDir = join(root, "packages", dir);
  const file = join(pkgDir, "package.json");
  if (!existsSync(file)) continue;
  const pkg = JSON.parse(readFileSync(file, "utf8"));
  const name = pkg.name ?? dir;
  const deps = pkg.dependencies ?? {};
  const peers = pkg.peerDependencies ?? {};
  const devs = pkg.devDependencies ?? {};
  const peerMeta = pkg.peerDependenciesMeta ?? {};

  if (pkg.private) continue; // test utilities kept in the repo are not published
  if (!name.startsWith("@tq/")) fail(name, "published packages are named @tq/<x>");
  if (pkg.type !== "module") fail(name, 'must be "type": "module"');
  if (pkg.sideEffects !== false) fail(name, "must declare sideEffects: false");
  const dot = pkg.exports?.["."];
  if (!dot || Object.keys(dot)[0] !== "types" || !dot.default) {
    fail(name, 'exports["."] must list "types" first, then "default"');
  }
  if (!pkg.exports?.["./package.json"]) fail(name, 'exports must include "./package.json"');
  if (JSON.stringify(pkg.files) !== JSON.stringify(["dist"])) fail(name, 'files must be ["dist"]');
  if (pkg.engines?.node !== ">=20.19") fail(name, 'engines.node must be ">=20.19"');
  if (pkg.publishConfig?.access !== "public") fail(name, "publishConfig.access must be public");
  if (!existsSync(join(pkgDir, "README.md"))) fail(name, "has no README.md");

  if (name === "@tq/core") {
    const runtime = Object.keys(deps);
    if (runtime.length > 0) fail(name, `must have no runtime dependencies, has ${runtime.join(", ")}`);
    if (Object.keys(peers).length > 0) fail(name, "must have no peer dependencies");
    checkNoClientImports(name, join(pkgDir, "src"));
    checkNoClientImports(name, join(pkgDir, "dist"));
    checkCycles(name, join(pkgDir, "src"));
    continue;
  }

  const usesCore = "@tq/core" in deps || "@tq/core" in peers || "@tq/core" in devs;
  if (usesCore && !LEAF_PACKAGES.has(name)) {
    if ("@tq/core" in deps) fail(name, "@tq/core must be a peerDependency, not a dependency");
    if (peers["@tq/core"] !== "workspace:^") fail(name, '@tq/core must be a peerDependency "workspace:^"');
    if (!("@tq/core" in devs)) fail(name, "@tq/core must also be a devDependency");
  }
  for (const lib of CLIENT_LIBRARIES) {
    if (!(lib in deps || lib in peers || lib in devs)) continue;
    if (lib in deps) fail(name, `${lib} must be a peerDependency, not a dependency`);
    if (!(lib in peers)) fail(name, `${lib} must be a required peerDependency`);
    if (peerMeta[lib]?.optional) fail(name, `${lib} must be a required (not optional) peer`);
    if (!/^\d+\.\d+\.\d+/.test(devs[lib] ?? "")) fail(name, `${lib} must be a pinned devDependency`);
  }
  if (name === "@tq/transport-tests") {
    if (!("vitest" in peers) || "vitest" in deps) fail(name, "vitest must be a peerDependency");
  }
}

function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir)) {
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) walk(full, out);
    else if (/\.(ts|js|mts|mjs)$/.test(entry)) out.push(full);
  }
  return out;
}

function checkNoClientImports(name, dir) {
  for (const file of walk(dir)) {
    const text = readFileSync(file, "utf8");
    for (const lib of [...CLIENT_LIBRARIES, "@tq/"]) {
      const pattern = new RegExp(`from\\s+["']${lib.replace("/", "\\/")}[^"']*["']|import\\(\\s*["']${lib}`);
      if (pattern.test(text)) fail(name, `${relative(root, file)} imports ${lib}`);
    }
  }
}

// Runtime (non-type) relative imports between core's modules must not form a cycle.
function checkCycles(name, srcDir) {
  const graph = new Map();
  for (const file of walk(srcDir)) {
    const text = readFileSync(file, "utf8");
    const edges = [];
    for (const m of text.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s+["'](\.[^"']+)["']/gms)) {
      edges.push(resolve(dirname(file), m[1].replace(/\.js$/, ".ts")));
    }
    graph.set(file, edges);
  }
  const state = new Map();
  const stack = [];
  const visit = (node) => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") {
        const cycle = stack
          .slice(stack.indexOf(next))
          .concat(next)
          .map((f) => relative(srcDir, f));
        fail(name, `import cycle: ${cycle.join(" -> ")}`);
      } else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
}

if (problems.length > 0) {
  for (const problem of problems) console.error(`dependency-table: ${problem}`);
  process.exit(1);
}
console.log("dependency-table: every package follows STYLE.md's dependency table");
