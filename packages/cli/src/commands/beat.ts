import type { Beat, BeatEntryInfo } from "@tq/beat";
import { redactUrl } from "@tq/core";
import { Command } from "commander";
import { type BeatStoreFlags, setUpBeat } from "../beat-setup.js";
import { type AppFlag, type ConnectionFlags, withAppFlag, withConnectionFlags } from "../common-options.js";
import type { CliContext } from "../context.js";
import { openApp } from "../open-app.js";
import { parseLogLevel } from "../parsers.js";
import { cliVersion } from "../version.js";

interface BeatFlags extends ConnectionFlags, AppFlag, BeatStoreFlags {
  loglevel: string;
  list?: boolean;
}

/**
 * `tq beat -A <module>`: Celery's `celery beat`. Sends the app's `beatSchedule` entries when due and
 * runs until SIGINT/SIGTERM; `--list` prints each entry with its next run time and exits.
 */
export function beatCommand(context: CliContext): Command {
  const command = new Command("beat").description(
    "send the app's periodic tasks (beatSchedule) when they are due",
  );
  withAppFlag(command, { required: true });
  command
    .option(
      "--schedule-store <url>",
      "where last-run times and the leader lease live: redis://…, mongodb://…, memory:// or a file (default: the app's beatScheduleFilename)",
    )
    .option("-s, --schedule <file>", "the schedule file, when no --schedule-store is given")
    .option(
      "-l, --loglevel <level>",
      "trace, debug, info, warning, error, critical or silent",
      parseLogLevel,
      "info",
    )
    .option("--list", "print each entry with its last and next run time, then exit");
  withConnectionFlags(command);
  command.addHelpText(
    "after",
    `
Several beats may run against one shared store (redis:// or mongodb://): one sends, the others take over
within the lease TTL (30 s) when it stops.

Examples:
  $ tq beat -A src/tasks.ts
  $ tq beat -A dist/tasks.js --schedule-store redis://localhost:6379/0 -l debug
  $ tq beat -A src/tasks.ts --schedule-store redis://localhost:6379/0 --list`,
  );
  return command.action((flags: BeatFlags) => runBeat(flags, context));
}

async function runBeat(flags: BeatFlags, context: CliContext): Promise<void> {
  const opened = await openApp(flags, context);
  const { app } = opened;
  let beat: Beat | undefined;
  try {
    beat = await setUpBeat(opened, flags, context);
    if (flags.list) {
      const entries = await beat.listEntries();
      for (const line of listLines(entries)) context.out(line);
      await beat.stop();
      await app.close();
      return;
    }
    await app.connect();
    context.err(beatBanner(beat, app.conf.brokerUrl, app.conf.beatMaxLoopInterval, app.conf.timezone));
    const running = beat;
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) process.exit(1); // a second signal: stop now
      stopping = true;
      void stopAndExit(running, signal);
    };
    const stopAndExit = async (stoppedBeat: Beat, signal: NodeJS.Signals): Promise<void> => {
      let code = 0;
      try {
        await stoppedBeat.stop();
        await app.close();
      } catch (error) {
        context.err(`beat did not stop cleanly after ${signal}: ${(error as Error).message}`);
        code = 1;
      }
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      process.exit(code);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    await beat.start();
    context.keepsRunning = true;
  } catch (error) {
    await beat?.stop().catch(() => {});
    await app.close();
    throw error;
  }
}

/** Celery's beat banner, with tq's store in place of the scheduler class. */
function beatBanner(beat: Beat, brokerUrl: string, maxInterval: number, timezone: string): string {
  return [
    `tq beat v${cliVersion()} is starting.`,
    `LocalTime -> ${new Date().toISOString()}`,
    "Configuration ->",
    `    . broker -> ${redactUrl(brokerUrl)}`,
    `    . store -> ${beat.store.description}`,
    `    . timezone -> ${timezone}`,
    `    . maxinterval -> ${maxInterval} s`,
    "",
  ].join("\n");
}

/** One line per entry: name, task, schedule, next run in the entry's zone and in UTC, last run, run count. */
export function listLines(entries: readonly BeatEntryInfo[]): string[] {
  if (entries.length === 0) return ["(no periodic tasks: set beatSchedule in the app)"];
  const rows = entries.map((entry) => [
    entry.name,
    entry.task,
    entry.schedule,
    entry.nextRunAt
      ? `next ${wallClock(entry.nextRunAt, entry.timezone)} (${entry.nextRunAt.toISOString()})`
      : "next never",
    entry.lastRunAt ? `last ${entry.lastRunAt.toISOString()}` : "last -",
    `runs ${entry.totalRunCount}`,
  ]);
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] as string).length))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd(),
  );
}

// "2026-12-03 10:50:00 Asia/Shanghai": sv-SE formats dates the ISO way.
function wallClock(date: Date, timezone: string): string {
  const text = new Intl.DateTimeFormat("sv-SE", {
    timeZone: timezone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).format(date);
  return `${text} ${timezone}`;
}
