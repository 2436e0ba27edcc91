import { createInterface } from "node:readline/promises";
import { TqError } from "@tq/core";
import { Command } from "commander";
import { type AppFlag, type ConnectionFlags, withAppFlag, withConnectionFlags } from "../common-options.js";
import type { CliContext } from "../context.js";
import { openApp } from "../open-app.js";
import { parseList } from "../parsers.js";
import { requireSharedBroker } from "../shared-transport.js";

interface PurgeFlags extends ConnectionFlags, AppFlag {
  queues?: string[];
  force?: boolean;
}

/**
 * `tq purge`: Celery's `celery purge`. Deletes every waiting message of the app's default queue (or of
 * `-Q` queues) and prints how many went from each. Asks first on a terminal; elsewhere needs `--force`.
 */
export function purgeCommand(context: CliContext): Command {
  const command = new Command("purge")
    .description("delete every waiting message of the default queue, or of the given queues")
    .option("-Q, --queues <list>", "comma-separated queues (default: the app's default queue)", parseList)
    .option("-f, --force", "do not ask for confirmation");
  withAppFlag(command);
  withConnectionFlags(command);
  command.addHelpText(
    "after",
    `
Example:
  $ tq purge -Q celery,images -f --broker redis://localhost:6379/0`,
  );
  return command.action((flags: PurgeFlags) => runPurge(flags, context));
}

async function runPurge(flags: PurgeFlags, context: CliContext): Promise<void> {
  const { app } = await openApp(flags, context);
  try {
    const queues = flags.queues ?? [app.conf.taskDefaultQueue];
    const broker = await requireSharedBroker(app);
    if (!flags.force && !(await confirm(queues))) {
      throw new TqError("TQ_ABORTED", "purge cancelled: nothing was deleted");
    }
    for (const queue of queues) {
      const count = await broker.purge(queue);
      context.out(`purged ${count} message${count === 1 ? "" : "s"} from queue ${queue}`);
    }
  } finally {
    await app.close();
  }
}

async function confirm(queues: readonly string[]): Promise<boolean> {
  const list = queues.join(", ");
  if (!process.stdin.isTTY) {
    // No one to ask: a script must say --force, so a purge never happens by accident.
    throw new TqError(
      "TQ_CONFIG",
      `purge deletes every waiting message of ${list}; pass -f/--force to confirm`,
    );
  }
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(`Delete every waiting message of ${list}? [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    prompt.close();
  }
}
