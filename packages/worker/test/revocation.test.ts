import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { TqError } from "@tq/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LimitedSet, REVOKE_EXPIRES_MS, REVOKES_MAX } from "../src/revocation/limited-set.js";
import { Revocations } from "../src/revocation/revocations.js";
import { parseStateFile, StateDb, stateDbPath } from "../src/revocation/state-db.js";
import { recordingLogger } from "./helpers.js";

describe("LimitedSet (Celery's LimitedSet for revoked ids)", () => {
  it("has Celery's bounds by default: 50,000 ids for 10,800 s", () => {
    const set = new LimitedSet();
    expect(set.maxlen).toBe(REVOKES_MAX);
    expect(REVOKES_MAX).toBe(50_000);
    expect(set.expiresMs).toBe(REVOKE_EXPIRES_MS);
    expect(REVOKE_EXPIRES_MS).toBe(10_800_000);
  });

  it("forgets the oldest past maxlen", () => {
    let now = 1_000;
    const set = new LimitedSet({ maxlen: 3, now: () => now });
    for (const id of ["a", "b", "c", "d"]) {
      set.add(id);
      now += 1;
    }
    expect(set.has("a")).toBe(false);
    expect(["b", "c", "d"].every((id) => set.has(id))).toBe(true);
    expect(set.size).toBe(3);
  });

  it("forgets ids once they expire, and renews one added again", () => {
    let now = 0;
    const set = new LimitedSet({ expiresMs: 100, now: () => now });
    set.add("a");
    set.add("b");
    now = 60;
    set.add("a");
    now = 120;
    expect(set.has("b")).toBe(false);
    expect(set.has("a")).toBe(true);
    expect(set.entries()).toEqual([["a", 160]]);
    now = 160;
    expect(set.has("a")).toBe(false);
  });

  it("keeps 50,000 ids and forgets the first of 50,001", () => {
    const set = new LimitedSet();
    for (let i = 0; i <= REVOKES_MAX; i++) set.add(`id-${i}`);
    expect(set.size).toBe(REVOKES_MAX);
    expect(set.has("id-0")).toBe(false);
    expect(set.has("id-1")).toBe(true);
    expect(set.has(`id-${REVOKES_MAX}`)).toBe(true);
  });

  it("loads saved entries in expiry order, keeping the later expiry and dropping expired ones", () => {
    let now = 1_000;
    const set = new LimitedSet({ expiresMs: 500, now: () => now });
    set.add("live"); // expires at 1500
    set.load([
      ["old", 900],
      ["late", 2_000],
      ["live", 1_200],
      ["soon", 1_100],
    ]);
    expect(set.entries()).toEqual([
      ["soon", 1_100],
      ["live", 1_500],
      ["late", 2_000],
    ]);
    now = 1_600;
    expect(set.has("live")).toBe(false);
    expect(set.has("late")).toBe(true);
  });
});

describe("state file (--statedb)", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "tq-statedb-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("expands %n, %h, %d, %p and %% as Celery's node_format", () => {
    expect(stateDbPath("/run/%n.state", "w1@box.example.com")).toBe("/run/w1.state");
    expect(stateDbPath("/run/%h-%d-%p-100%%", "w1@box.example.com")).toBe(
      "/run/box.example.com-example.com-w1@box.example.com-100%",
    );
    expect(stateDbPath("%n@%h", "box")).toBe("celery@box");
    expect(stateDbPath("/plain/path", "w@h")).toBe("/plain/path");
  });

  it("writes atomically on change (debounced) and reads back the same entries", async () => {
    const file = path.join(dir, "sub", "worker.state");
    const logger = recordingLogger();
    const db = new StateDb(file, "w1@host", logger, { debounceMs: 10 });
    expect(await db.load()).toEqual([]);
    let entries: [string, number][] = [["a", 5_000_000_000_000]];
    db.track(() => entries);
    db.changed();
    entries = [...entries, ["b", 5_000_000_000_001]];
    db.changed();
    await db.flush();
    const saved = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
    expect(saved).toMatchObject({
      format: "tq-worker-state",
      version: 1,
      hostname: "w1@host",
      revoked: [
        ["a", 5_000_000_000_000],
        ["b", 5_000_000_000_001],
      ],
    });
    expect(await new StateDb(file, "w1@host", logger).load()).toEqual(entries);
    // No temporary file is left behind.
    expect(await readdir(path.dirname(file))).toEqual(["worker.state"]);
    expect(logger.records.filter((record) => record.level === "error")).toEqual([]);
  });

  it("refuses a file that is not a tq state file, naming it, with TQ_CONFIG", async () => {
    const file = path.join(dir, "celery.db");
    await writeFile(file, Buffer.from([0, 6, 21, 97, 0xff]));
    const error = await new StateDb(file, "w", recordingLogger()).load().catch((caught: unknown) => caught);
    expect(TqError.is(error, "TQ_CONFIG")).toBe(true);
    expect(String(error)).toContain(file);
    expect(String(error)).toMatch(/not JSON \(a Celery shelve file cannot be read\)/);
    const cases: [string, RegExp][] = [
      ["{}", /no "format"/],
      ['{"format": "tq-worker-state", "version": 2, "revoked": []}', /version 2 is not 1/],
      ['{"format": "tq-worker-state", "version": 1, "revoked": {}}', /"revoked" is not a list/],
      ['{"format": "tq-worker-state", "version": 1, "revoked": [["a"]]}', /not \[task id, expiry ms\]/],
    ];
    for (const [text, message] of cases) expect(() => parseStateFile(text, "f")).toThrowError(message);
  });

  it("fails the start when the state file cannot be read or written", async () => {
    const blocker = path.join(dir, "not-a-dir");
    await writeFile(blocker, "x");
    const revocations = new Revocations({
      hostname: "w@h",
      logger: recordingLogger(),
      stateDb: path.join(blocker, "worker.state"),
    });
    const error = await revocations.load().catch((caught: unknown) => caught);
    expect(TqError.is(error, "TQ_CONFIG")).toBe(true);
    expect(String(error)).toMatch(/cannot (read|write) the state file .*not-a-dir/);
  });

  it("keeps revoked ids across two Revocations on one file, and drops expired ones at load", async () => {
    const file = path.join(dir, "%n.state");
    const first = new Revocations({ hostname: "w1@h", logger: recordingLogger(), stateDb: file });
    await first.load();
    first.revoke(["t-1", "t-2"]);
    await first.flush();
    const saved = JSON.parse(await readFile(path.join(dir, "w1.state"), "utf8")) as { revoked: unknown[] };
    expect(saved.revoked).toHaveLength(2);
    await writeFile(
      path.join(dir, "w1.state"),
      JSON.stringify({ ...saved, revoked: [...saved.revoked, ["gone", Date.now() - 1]] }),
    );
    const second = new Revocations({ hostname: "w1@h", logger: recordingLogger(), stateDb: file });
    await second.load();
    expect(second.has("t-1")).toBe(true);
    expect(second.has("t-2")).toBe(true);
    expect(second.has("gone")).toBe(false);
    expect(second.ids()).toEqual(["t-1", "t-2"]);
    expect(second.stateDbPath).toBe(path.join(dir, "w1.state"));
  });
});
