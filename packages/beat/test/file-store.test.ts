/**
 * The default file store, on real time and a real file: a restarted beat continues the schedule
 * without repeating or skipping a run, the file is never half-written, and its lock keeps a second
 * beat waiting.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { TqError } from "@tq/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type BeatEvents, createBeat, every, FileScheduleStore } from "../src/index.js";
import { makeApp, recordSends } from "./helpers.js";

let directory: string;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), "tq-beat-file-"));
});

afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A process that exits at once: its pid is free afterwards (a crashed beat's lock names one such). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((resolve) => child.on("exit", resolve));
  return child.pid as number;
}

describe("FileScheduleStore", () => {
  it("lets a restarted beat continue the schedule: no run repeated, none skipped", async () => {
    const path = join(directory, "celerybeat-schedule.json");
    const app = makeApp({ tick: { task: "tasks.tick", schedule: every("400ms") } });
    const sends: BeatEvents["sent"][] = [];
    const first = createBeat(app, { store: path });
    recordSends(first, sends);
    await first.start();
    await until(() => sends.length >= 3, "three runs");
    await first.stop();
    const before = sends.length;
    const saved = JSON.parse(await readFile(path, "utf8"));
    expect(saved.format).toBe("tq-beat-schedule");
    expect(saved.states.tick).toEqual({ lastRunAt: sends.at(-1)?.dueAt.getTime(), totalRunCount: before });

    const second = createBeat(app, { store: path });
    recordSends(second, sends);
    await second.start();
    await until(() => sends.length >= before + 3, "three more runs");
    await second.stop();

    const due = sends.map((send) => send.dueAt.getTime());
    for (let i = 1; i < due.length; i += 1) {
      // Never the same run twice, never one skipped: each due time one interval after the previous one,
      // except that a restart slower than the interval sends the missed run once, then goes on from then.
      expect((due[i] as number) - (due[i - 1] as number)).toBeGreaterThanOrEqual(400);
    }
    expect((due[before] as number) - (due[before - 1] as number)).toBe(400);
    // The schedule file is the only file left: no temporary file, no lock.
    expect(await readdir(directory)).toEqual(["celerybeat-schedule.json"]);
  }, 60_000);

  it("keeps a second beat waiting while the first holds the lock, and hands over on stop", async () => {
    const path = join(directory, "schedule.json");
    const app = makeApp({ tick: { task: "tasks.tick", schedule: every(3600) } });
    const first = createBeat(app, { store: path });
    const second = createBeat(app, { store: path, leaseTtlMs: 1500 });
    await first.start();
    await second.start();
    expect([first.isLeader, second.isLeader]).toEqual([true, false]);
    await expect(second.addEntry("other", { task: "t", schedule: 5 })).rejects.toThrow(
      /belongs to the beat running as process/,
    );
    await first.addEntry("dynamic", { task: "tasks.dynamic", schedule: "0 * * * *" });
    await first.stop();
    await until(() => second.isLeader, "the second beat to lead");
    expect((await second.listEntries()).map((entry) => entry.name).sort()).toEqual(["dynamic", "tick"]);
    await second.stop();
  }, 30_000);

  it("takes over the lock of a process that no longer exists", async () => {
    const path = join(directory, "schedule.json");
    const lock = {
      token: "crashed",
      pid: await deadPid(),
      hostname: hostname(),
      expiresAt: Date.now() + 3_600_000,
    };
    await writeFile(`${path}.lock`, JSON.stringify(lock));
    const store = new FileScheduleStore({ path });
    expect(await store.acquireLease("mine", 30_000)).toEqual({ acquired: true, retryInMs: 0 });
    expect(JSON.parse(await readFile(`${path}.lock`, "utf8"))).toMatchObject({
      token: "mine",
      pid: process.pid,
    });
    // A live holder's lock is left alone, with the time it has left.
    const other = new FileScheduleStore({ path });
    const attempt = await other.acquireLease("theirs", 30_000);
    expect(attempt.acquired).toBe(false);
    expect(attempt.retryInMs).toBeGreaterThan(25_000);
    expect(await other.renewLease("theirs", 30_000)).toBe(false);
    expect(await store.renewLease("mine", 30_000)).toBe(true);
    expect(
      await other.recordRuns(
        [{ name: "x", expectedLastRunAt: null, lastRunAt: 1, runCountDelta: 0 }],
        "theirs",
      ),
    ).toEqual(["not-leader"]);
    await store.releaseLease("mine");
    expect((await other.acquireLease("theirs", 30_000)).acquired).toBe(true);
  });

  it("refuses a file that is not a beat schedule instead of overwriting it", async () => {
    const path = join(directory, "celerybeat-schedule");
    await writeFile(path, "\u0000shelve data");
    const store = new FileScheduleStore({ path });
    try {
      await store.load();
      expect.unreachable();
    } catch (error) {
      expect(TqError.is(error, "TQ_CONFIG")).toBe(true);
      expect((error as Error).message).toContain("is not a tq beat schedule file");
    }
    expect(await readFile(path, "utf8")).toBe("\u0000shelve data");
  });
});
