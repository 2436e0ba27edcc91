import type { Command } from "commander";

/** Flags every command takes. */
export interface ConnectionFlags {
  /** `--broker URL`: wins over `TQ_BROKER_URL` and the app's own setting. */
  broker?: string;
  /** `--result-backend URL`: wins over `TQ_RESULT_BACKEND` and the app's own setting. */
  resultBackend?: string;
  /** `--debug`: print stack traces of errors. */
  debug?: boolean;
}

/** `-A module`, on the commands that can load an app. */
export interface AppFlag {
  /** Path of the app module. */
  app?: string;
}

/** Adds `--broker`, `--result-backend` and `--debug` to a command. */
export function withConnectionFlags(command: Command): Command {
  return command
    .option("--broker <url>", "broker URL (default: $TQ_BROKER_URL, else the app's setting)")
    .option(
      "--result-backend <url>",
      "result backend URL, or none (default: $TQ_RESULT_BACKEND, else the app's)",
    )
    .option("--debug", "print stack traces of errors");
}

/** Adds `-A, --app <module>` to a command; `required` for the worker, which has nothing to run without it. */
export function withAppFlag(command: Command, options: { required?: boolean } = {}): Command {
  const flags = "-A, --app <module>";
  const description = "app module exporting `app` (.ts, .mts, .js, .mjs; relative to the current directory)";
  return options.required ? command.requiredOption(flags, description) : command.option(flags, description);
}
