import { type AsyncResult, type SendTaskOptions, TqError } from "@tq/core";
import { Command, Option } from "commander";
import { waitTimedOut } from "../cli-error.js";
import { type AppFlag, type ConnectionFlags, withAppFlag, withConnectionFlags } from "../common-options.js";
import type { CliContext } from "../context.js";
import { openApp } from "../open-app.js";
import {
  parseIsoDate,
  parseJsonArray,
  parseJsonObject,
  parseNonNegativeInteger,
  parseSeconds,
} from "../parsers.js";
import { requireSharedBackend, requireSharedBroker } from "../shared-transport.js";

interface CallFlags extends ConnectionFlags, AppFlag {
  args: unknown[];
  kwargs: Record<string, unknown>;
  queue?: string;
  countdown?: number;
  eta?: Date;
  expires?: number;
  priority?: number;
  wait?: boolean;
  timeout?: number;
}

/**
 * `tq call <name>`: Celery's `celery call`. Sends a task by name, prints its id; with `--wait`, also its
 * result as one line of JSON (exit 0), its failure on stderr (exit 1), or a time-out (exit 2).
 */
export function callCommand(context: CliContext): Command {
  const command = new Command("call")
    .description("send a task by name and print its id")
    .argument("<name>", "task name, e.g. tasks.add")
    .option("--args <json>", "positional arguments, a JSON array", parseJsonArray, [])
    .option("--kwargs <json>", "keyword arguments, a JSON object", parseJsonObject, {})
    .option("--queue <name>", "queue to send to (default: the task's route, else the app's default queue)")
    .option("--countdown <seconds>", "run no earlier than this many seconds from now", parseSeconds)
    .option("--eta <iso-date>", "run no earlier than this time (ISO 8601)", parseIsoDate)
    .option("--expires <seconds>", "expire if not started within this many seconds", parseSeconds)
    .option("--priority <n>", "message priority, where the broker supports it", parseNonNegativeInteger)
    .option("--wait", "wait for the task and print its result as JSON")
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
Exit status: 0 sent (with --wait: succeeded), 1 error or task failed, 2 --timeout passed.

Examples:
  $ tq call tasks.add --args '[2, 3]' --broker redis://localhost:6379/0
  $ TQ_BROKER_URL=redis://localhost:6379/0 TQ_RESULT_BACKEND=redis://localhost:6379/1 \\
      tq call tasks.add --kwargs '{"x": 2, "y": 3}' --wait --timeout 10`,
  );
  return command.action((name: string, flags: CallFlags) => runCall(name, flags, context));
}

async function runCall(name: string, flags: CallFlags, context: CliContext): Promise<void> {
  const { app } = await openApp(flags, context);
  try {
    await requireSharedBroker(app);
    // Checked before sending: a task whose result cannot be read back should not be sent at all.
    if (flags.wait) await requireSharedBackend(app);
    const result = app.sendTask(name, flags.args, flags.kwargs, sendOptions(flags));
    await result.sent;
    context.out(result.id);
    if (flags.wait) context.out(JSON.stringify((await waitForValue(result, flags.timeout)) ?? null));
  } finally {
    await app.close();
  }
}

function sendOptions(flags: CallFlags): SendTaskOptions {
  const options: SendTaskOptions = {};
  if (flags.queue !== undefined) options.queue = flags.queue;
  if (flags.countdown !== undefined) options.countdown = flags.countdown;
  if (flags.eta !== undefined) options.eta = flags.eta;
  if (flags.expires !== undefined) options.expires = flags.expires;
  if (flags.priority !== undefined) options.priority = flags.priority;
  return options;
}

async function waitForValue(result: AsyncResult, timeoutSeconds: number | undefined): Promise<unknown> {
  try {
    return await result.get(timeoutSeconds === undefined ? {} : { timeout: timeoutSeconds });
  } catch (error) {
    if (timeoutSeconds !== undefined && TqError.is(error, "TQ_TIMEOUT")) {
      throw waitTimedOut(result.id, timeoutSeconds, error);
    }
    throw error;
  }
}
