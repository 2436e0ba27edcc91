import { Command, CommanderError } from "commander";
import { commanderErrorLine, ExitStatus, errorDetails, errorLine, exitStatusOf } from "./cli-error.js";
import { beatCommand } from "./commands/beat.js";
import { callCommand } from "./commands/call.js";
import { controlCommand } from "./commands/control.js";
import { purgeCommand } from "./commands/purge.js";
import { resultCommand } from "./commands/result.js";
import { workerCommand } from "./commands/worker.js";
import type { CliContext } from "./context.js";
import { cliVersion } from "./version.js";

/** Options of {@link main}, for running the CLI inside another program or a test. */
export interface MainOptions {
  /** Environment variables. @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** Working directory. @default process.cwd() */
  cwd?: string;
  /** Receives stdout text. @default process.stdout */
  stdout?: (text: string) => void;
  /** Receives stderr text. @default process.stderr */
  stderr?: (text: string) => void;
  /**
   * Return the exit status instead of ending the process with it. By default a finished command ends
   * the process, even when the app module left something open (a database pool, a timer).
   * @default false
   */
  embedded?: boolean;
}

/**
 * Runs the `tq` command line: `argv` as in `process.argv` (node, script, then arguments). Resolves with
 * the exit status once the command finished; `tq worker` resolves once the worker runs, and the process
 * then lives until a signal stops the worker.
 */
export async function main(argv: readonly string[], options: MainOptions = {}): Promise<number> {
  const stdout = options.stdout ?? ((text: string) => process.stdout.write(text));
  const stderr = options.stderr ?? ((text: string) => process.stderr.write(text));
  const context: CliContext = {
    env: options.env ?? process.env,
    cwd: options.cwd ?? process.cwd(),
    out: (line) => stdout(`${line}\n`),
    err: (line) => stderr(`${line}\n`),
    exitStatus: ExitStatus.ok,
    keepsRunning: false,
  };
  try {
    await createProgram(context, stdout, stderr).parseAsync([...argv]);
  } catch (error) {
    context.exitStatus = report(error, context, argv.includes("--debug"));
  }
  if (!options.embedded && !context.keepsRunning) await endProcess(context.exitStatus);
  return context.exitStatus;
}

function createProgram(
  context: CliContext,
  stdout: (text: string) => void,
  stderr: (text: string) => void,
): Command {
  const program = new Command("tq")
    .description("tq, a Celery-compatible task queue for Node.js: run workers, send tasks, read results")
    .version(cliVersion(), "-V, --version")
    .showSuggestionAfterError()
    // exitOverride: commander throws instead of calling process.exit, so main decides how the process ends.
    .exitOverride()
    .configureOutput({
      writeOut: stdout,
      writeErr: stderr,
      outputError: (text, write) => write(`${commanderErrorLine(text)}\n`),
    });
  for (const command of [
    workerCommand(context),
    beatCommand(context),
    callCommand(context),
    resultCommand(context),
    purgeCommand(context),
    controlCommand(context),
  ]) {
    // addCommand() does not pass the program's settings down as .command() does; these must reach every command.
    program.addCommand(inheritSettings(command, program));
  }
  return program;
}

// Down to subcommands too (`tq control revoke`), which were added before their parent got the settings.
function inheritSettings(command: Command, parent: Command): Command {
  command.copyInheritedSettings(parent);
  for (const subcommand of command.commands) inheritSettings(subcommand, command);
  return command;
}

function report(error: unknown, context: CliContext, debug: boolean): number {
  // Commander already printed its message (outputError above); `--help` and `--version` end up here too.
  if (error instanceof CommanderError) return error.exitCode;
  context.err(errorLine(error));
  if (debug) context.err(errorDetails(error));
  return exitStatusOf(error);
}

async function endProcess(status: number): Promise<void> {
  // Wait for pending output to be handed to the OS: process.exit() drops writes still queued on a pipe.
  await Promise.all([flush(process.stdout), flush(process.stderr)]);
  process.exit(status);
}

function flush(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    stream.write("", () => resolve());
  });
}
