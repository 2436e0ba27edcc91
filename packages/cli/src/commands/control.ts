import type { App, ControlTargetOptions } from "@tq/core";
import { Command } from "commander";
import { type AppFlag, type ConnectionFlags, withAppFlag, withConnectionFlags } from "../common-options.js";
import type { CliContext } from "../context.js";
import { openApp } from "../open-app.js";
import { parseList } from "../parsers.js";
import { requireSharedBroker } from "../shared-transport.js";

interface TargetFlags extends ConnectionFlags, AppFlag {
  destination?: string[];
}

interface RevokeFlags extends TargetFlags {
  terminate?: boolean;
  signal: string;
}

/**
 * `tq control <command>`: Celery's `celery control`. Sends a remote-control command to the workers
 * over the broker's broadcast (Redis, AMQP, MongoDB), in Celery's format, so Celery workers obey it
 * too. Commands are sent without waiting for replies.
 */
export function controlCommand(context: CliContext): Command {
  const command = new Command("control").description(
    "send a remote-control command (revoke, rate_limit) to the workers",
  );
  command.addCommand(revokeCommand(context));
  command.addCommand(rateLimitCommand(context));
  return command;
}

function revokeCommand(context: CliContext): Command {
  const command = new Command("revoke")
    .description("revoke tasks by id: workers do not run them; with --terminate, stop them if running")
    .argument("<id...>", "task ids")
    .option("--terminate", "also stop the tasks that are running")
    .option("-s, --signal <name>", "signal for --terminate, e.g. SIGTERM or KILL", "SIGTERM");
  withTarget(command);
  command.addHelpText(
    "after",
    `
Workers remember revoked ids for 3 hours (at most 50,000); a worker started later does not learn of
them unless it keeps a state file (tq worker --statedb).

Example:
  $ tq control revoke 6f1c… 2b9e… --terminate --broker redis://localhost:6379/0`,
  );
  return command.action((ids: string[], flags: RevokeFlags) =>
    withApp(flags, context, async (app) => {
      await app.control.revoke(ids, {
        ...target(flags),
        terminate: flags.terminate ?? false,
        signal: flags.signal,
      });
      context.out(
        `revoke sent for ${ids.join(", ")}${flags.terminate ? ` (terminate: ${flags.signal})` : ""}`,
      );
    }),
  );
}

function rateLimitCommand(context: CliContext): Command {
  const command = new Command("rate_limit")
    .alias("rate-limit")
    .description("change a task's rate limit on the workers")
    .argument("<task>", "task name, e.g. tasks.add")
    .argument("<rate>", 'tasks per second, or "10/s", "100/m", "1000/h"; 0 for no limit');
  withTarget(command);
  command.addHelpText(
    "after",
    `
Example:
  $ tq control rate_limit tasks.add 10/m -d celery@worker1 --broker redis://localhost:6379/0`,
  );
  return command.action((task: string, rate: string, flags: TargetFlags) =>
    withApp(flags, context, async (app) => {
      await app.control.rateLimit(task, rate, target(flags));
      context.out(`rate_limit sent: ${task} ${rate}`);
    }),
  );
}

function withTarget(command: Command): void {
  command.option(
    "-d, --destination <nodes>",
    "comma-separated node names to send to (default: every worker)",
    parseList,
  );
  withAppFlag(command);
  withConnectionFlags(command);
}

function target(flags: TargetFlags): ControlTargetOptions {
  return flags.destination ? { destination: flags.destination } : {};
}

async function withApp(
  flags: ConnectionFlags & AppFlag,
  context: CliContext,
  send: (app: App) => Promise<void>,
): Promise<void> {
  const { app } = await openApp(flags, context);
  try {
    await requireSharedBroker(app);
    await send(app);
  } finally {
    await app.close();
  }
}
