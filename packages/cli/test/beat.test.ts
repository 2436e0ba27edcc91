import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli, startCli } from "./run-cli.js";

let directory: string;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), "tq-cli-beat-"));
});

afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe("tq beat", () => {
  it("--list prints each entry with its next run time in its zone and in UTC, then exits", async () => {
    const run = await runCli(["beat", "-A", "beat-app.mjs", "--list", "--schedule-store", "memory://"]);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^add every second {2,}tasks\.add {2,}every 1 second {2,}next \d{4}-\d\d-\d\d \d\d:\d\d:\d\d Asia\/Shanghai \(\S+Z\) {2}last - {2}runs 0$/,
    );
    expect(lines[1]).toMatch(
      /^multiply at 10:50 +tasks\.multiply +<crontab: 50 10 \* \* \*> +next \d{4}-\d\d-\d\d 10:50:00 Asia\/Shanghai \(\S+T02:50:00\.000Z\)/,
    );
  });

  it("sends due entries, keeps last-run times in the schedule file and stops on SIGTERM", async () => {
    const file = join(directory, "schedule.json");
    const beat = startCli(["beat", "-A", "beat-app.mjs", "-s", file, "-l", "info"]);
    await beat.waitForOutput(
      /("msg":"Scheduler: Sending due task add every second \(tasks\.add\)"[\s\S]*){2}/,
    );
    expect(beat.stderr()).toContain("tq beat v");
    expect(beat.stderr()).toContain(`. store -> file ${file}`);
    expect(beat.stderr()).toContain(". timezone -> Asia/Shanghai");
    beat.child.kill("SIGTERM");
    expect(await beat.exited).toEqual({ code: 0, signal: null });
    expect(beat.stdout()).toContain('"msg":"beat: stopped"');
    const saved = JSON.parse(await readFile(file, "utf8"));
    expect(saved.states["add every second"].totalRunCount).toBeGreaterThanOrEqual(2);
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it("says in one line which package a schedule store URL needs, or that a scheme keeps none", async () => {
    const run = await runCli(["beat", "-A", "beat-app.mjs", "--schedule-store", "sqs://queue"]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toMatch(/^tq: .*sqs:\/\//);
  });

  it("tq worker documents -B and beat's store flags", async () => {
    const run = await runCli(["worker", "--help"]);
    expect(run.stdout).toContain("-B, --beat");
    expect(run.stdout).toContain("--schedule-store <url>");
  });
});
