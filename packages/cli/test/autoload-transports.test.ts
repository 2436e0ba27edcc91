import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { findTransport, TqError, type TransportPlugin, unregisterTransport } from "@tq/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { autoloadTransports } from "../src/index.js";

let root: string;
const registered: TransportPlugin[] = [];

/** Writes a package into `<root>/node_modules/<name>`. */
function writePackage(name: string, manifest: object, files: Record<string, string>): string {
  const directory = path.join(root, "node_modules", name);
  mkdirSync(directory, { recursive: true });
  writeFileSync(path.join(directory, "package.json"), JSON.stringify({ name, ...manifest }));
  for (const [file, text] of Object.entries(files)) writeFileSync(path.join(directory, file), text);
  return directory;
}

const plugin = (name: string, schemes: string[]): string =>
  `export const ${name} = { name: "fake-${name}", schemes: ${JSON.stringify(schemes)}, createBroker: () => ({}) };\n`;

beforeAll(() => {
  root = realpathSync(mkdtempSync(path.join(tmpdir(), "tq-autoload-")));
  // ESM-only, exports with "import" only: createRequire().resolve() cannot resolve it.
  writePackage(
    "@tq/sqs",
    {
      type: "module",
      exports: { ".": { types: "./index.d.ts", import: "./index.js" }, "./package.json": "./package.json" },
    },
    { "index.js": plugin("sqsTransport", ["sqs"]) },
  );
  // No exports map, entry through "main".
  writePackage(
    "@tq-fake/legacy",
    { type: "module", main: "./lib.js" },
    { "lib.js": plugin("legacyTransport", ["legacy"]) },
  );
  // Installed, but its own dependency is not.
  writePackage(
    "@tq-fake/needs-peer",
    { type: "module", exports: "./index.js" },
    { "index.js": 'import "some-driver-that-is-not-installed";\nexport const peerTransport = {};\n' },
  );
  writePackage(
    "@tq-fake/wrong-export",
    { type: "module", exports: "./index.js" },
    { "index.js": "export const other = 1;\n" },
  );
  mkdirSync(path.join(root, "app", "src"), { recursive: true });
});

afterEach(() => {
  for (const plugin of registered.splice(0)) unregisterTransport(plugin);
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

function remember(scheme: string): TransportPlugin | undefined {
  const found = findTransport(scheme);
  if (found) registered.push(found);
  return found;
}

describe("autoloadTransports", () => {
  it("imports the known package for a scheme from the app's directory (or a parent) and registers it", async () => {
    expect(findTransport("sqs")).toBeUndefined();
    const loaded = await autoloadTransports(["sqs://localhost:9324/queue"], {
      from: path.join(root, "app", "src"),
    });
    const entry = pathToFileURL(path.join(root, "node_modules/@tq/sqs/index.js")).href;
    // What it imported, so that a worker's pool children can register the same plugin.
    expect(loaded).toEqual([{ module: entry, exportName: "sqsTransport" }]);
    const exported = (await import(entry)) as {
      sqsTransport: TransportPlugin;
    };
    // The very object the package exports: imported from its real path, so not a second copy.
    expect(remember("sqs")).toBe(exported.sqsTransport);
  });

  it("leaves registered and built-in schemes alone", async () => {
    await expect(autoloadTransports(["memory://", "memory://x"], { from: root })).resolves.toEqual([]);
  });

  it("rejects with TQ_MISSING_PACKAGE and the install command, URL redacted", async () => {
    const error = await autoloadTransports(
      [{ url: "redis://:hunter2@127.0.0.1:6379/0", label: "broker URL" }],
      {
        from: root,
      },
    ).catch((caught: unknown) => caught);
    expect(TqError.is(error, "TQ_MISSING_PACKAGE")).toBe(true);
    expect((error as Error).message).toBe(
      "[tq] broker URL redis://:***@127.0.0.1:6379/0 needs the @tq/redis package: npm install @tq/redis",
    );
  });

  it("rejects an unknown scheme with TQ_UNKNOWN_SCHEME", async () => {
    const error = await autoloadTransports(["nats://127.0.0.1:4222"], { from: root }).catch(
      (caught: unknown) => caught,
    );
    expect(TqError.is(error, "TQ_UNKNOWN_SCHEME")).toBe(true);
    expect((error as Error).message).toMatch(
      /URL nats:\/\/127\.0\.0\.1:4222: no transport is registered for "nats:"/,
    );
  });

  it("takes a package map, resolving packages without an exports map through main", async () => {
    await autoloadTransports(["legacy://x"], {
      from: root,
      packages: { legacy: { package: "@tq-fake/legacy", exportName: "legacyTransport" } },
    });
    expect(remember("legacy")?.name).toBe("fake-legacyTransport");
  });

  it("names a missing dependency of an installed package, and a missing export", async () => {
    const packages = {
      peer: { package: "@tq-fake/needs-peer", exportName: "peerTransport" },
      wrong: { package: "@tq-fake/wrong-export", exportName: "wrongTransport" },
    };
    const peer = await autoloadTransports(["peer://x"], { from: root, packages }).catch(
      (caught: unknown) => caught,
    );
    expect(TqError.is(peer, "TQ_MISSING_PACKAGE")).toBe(true);
    expect((peer as Error).message).toContain(
      "needs @tq-fake/needs-peer, which needs the some-driver-that-is-not-installed package: npm install some-driver-that-is-not-installed",
    );
    const wrong = await autoloadTransports(["wrong://x"], { from: root, packages }).catch(
      (caught: unknown) => caught,
    );
    expect(TqError.is(wrong, "TQ_CONFIG")).toBe(true);
    expect((wrong as Error).message).toMatch(/exports no transport plugin named wrongTransport/);
  });
});
