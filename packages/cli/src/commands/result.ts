import { type TaskMeta, TqError } from "@tq/core";
import { Command, Option } from "commander";
import { waitTimedOut } from "../cli-error.js";
import { type AppFlag, type ConnectionFlags, withAppFlag, withConnectionFlags } from "../common-options.js";
import type { CliContext } from "../context.js";
import { openApp } from "../open-app.js";
import { parseSeconds } from "../parsers.js";
import { requireSharedBackend } from "../shared-transport.js";

interface ResultFlags extends ConnectionFlags, AppFlag {
  wait?: boolean;
  timeout?: number;
}

/** What `tq result` prints, as one line of JSON. */
export interface ResultReport {
  /** Task id. */
  id: string;
  /** Celery state name; PENDING when nothing is stored. */
  state: string;
  /** The return value, or for a failure the stored exception (`exc_type`, `exc_message`, `exc_module`). */
  result: unknown;
  /** The stored traceback; present only when the backend holds one (failures). */
  traceback?: string;
}

/**
 * `tq result <id>`: Celery's `celery result`. Prints the task's state and result as one line of JSON;
 * with `--wait`, once the task is ready. Exits 0 whatever the task's state: the state is in the output.
 */
export function resultCommand(context: CliContext): Command {
  const command = new Command("result")
    .description("print a task's state and result as JSON")
    .argument("<id>", "task id, as printed by tq call")
    .option("--wait", "wait until the task succeeded, failed or was revoked")
    .addOption(
      new Option("--timeout <seconds>", "with --wait, give up after this many seconds (exit 2)")
        .argParser(parseSeconds)
        .implies({ wait: true }),
    );
  withAppFlag(command);
  withConnectionFlags(command);
  command.addHelpText(
    "after",
    `
Prints {"id", "state", "result"}, plus "traceback" for a failure, on one line.
Exit status: 0 printed (whatever the task's state), 1 error, 2 --timeout passed.

Example:
  $ tq result 5f0c… --wait --result-backend redis://localhost:6379/1`,
  );
  return command.action((id: string, flags: ResultFlags) => runResult(id, flags, context));
}

async function runResult(id: string, flags: ResultFlags, context: CliContext): Promise<void> {
  const { app } = await openApp(flags, context);
  try {
    const backend = await requireSharedBackend(app);
    let meta: TaskMeta | null;
    if (flags.wait) {
      try {
        meta = await backend.waitFor(
          id,
          flags.timeout === undefined ? {} : { timeoutMs: flags.timeout * 1000 },
        );
      } catch (error) {
        if (flags.timeout !== undefined && TqError.is(error, "TQ_TIMEOUT"))
          throw waitTimedOut(id, flags.timeout, error);
        throw error;
      }
    } else {
      meta = await backend.get(id);
    }
    context.out(JSON.stringify(resultReport(id, meta)));
  } finally {
    await app.close();
  }
}

/** The report for a stored document, or for none (PENDING). */
export function resultReport(id: string, meta: TaskMeta | null): ResultReport {
  const report: ResultReport = { id, state: meta?.status ?? "PENDING", result: meta?.result ?? null };
  if (typeof meta?.traceback === "string" && meta.traceback !== "") report.traceback = meta.traceback;
  return report;
}
