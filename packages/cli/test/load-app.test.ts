import path from "node:path";
import { createApp, TqError } from "@tq/core";
import { describe, expect, it } from "vitest";
import { isApp, loadApp } from "../src/index.js";
import { FIXTURES } from "./run-cli.js";

describe("loadApp", () => {
  it("returns the app a module exports, with the module's path and directory", async () => {
    const loaded = await loadApp("app.mjs", { cwd: FIXTURES });
    expect(loaded.app.name).toBe("fixture-mjs");
    expect(loaded.path).toBe(path.join(FIXTURES, "app.mjs"));
    expect(loaded.directory).toBe(path.resolve(FIXTURES));
    expect([...loaded.app.tasks.keys()]).toEqual(["tasks.add"]);
  });

  it("finds a module named without its extension", async () => {
    expect((await loadApp(path.join(FIXTURES, "default-export"))).app.name).toBe("fixture-default");
  });

  it.each([
    ["missing.mjs", "TQ_APP_NOT_FOUND"],
    ["throws.mjs", "TQ_APP_LOAD"],
    ["no-app.mjs", "TQ_APP_INVALID"],
    ["not-an-app.mjs", "TQ_APP_INVALID"],
  ])("rejects %s with %s", async (module, code) => {
    const error = await loadApp(module, { cwd: FIXTURES }).catch((caught: unknown) => caught);
    expect(TqError.is(error, code)).toBe(true);
  });

  it("recognises apps by shape", () => {
    expect(isApp(createApp())).toBe(true);
    expect(isApp({ task() {}, sendTask() {}, conf: {} })).toBe(false);
    expect(isApp(null)).toBe(false);
  });
});
