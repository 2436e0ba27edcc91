import { TqError } from "@tq/core";

/**
 * Exit statuses of the `tq` command: 0 when it did what was asked, 1 for an error (a bad flag, an
 * unreachable broker, a failed task), 2 when `--wait` gave up before the task finished.
 */
export const ExitStatus = { ok: 0, error: 1, timeout: 2 } as const;

/** One of the {@link ExitStatus} values. */
export type ExitStatusValue = (typeof ExitStatus)[keyof typeof ExitStatus];

/**
 * The one line the CLI prints for an error: `tq: ` and the message, with core's `[tq] ` prefix dropped
 * (the line already says tq) and line breaks folded so a script reading stderr gets exactly one line.
 * Unexpected errors (not a `TqError`) point at `--debug`, since they are bugs rather than bad input.
 */
export function errorLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const text = oneLine(message.replace(/^\[tq\] /, ""));
  return TqError.is(error) ? `tq: ${text}` : `tq: ${text} (run with --debug for the stack trace)`;
}

/** Everything `--debug` shows: the stack, each cause's stack, and a failed task's remote traceback. */
export function errorDetails(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 8; depth++) {
    const prefix = depth === 0 ? "" : "caused by: ";
    parts.push(prefix + (current instanceof Error ? (current.stack ?? current.message) : String(current)));
    const traceback = remoteTraceback(current);
    if (traceback) parts.push(`remote traceback:\n${traceback.trimEnd()}`);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join("\n");
}

/** The exit status for an error: {@link ExitStatus.timeout} for `TQ_TIMEOUT`, else {@link ExitStatus.error}. */
export function exitStatusOf(error: unknown): ExitStatusValue {
  return TqError.is(error, "TQ_TIMEOUT") ? ExitStatus.timeout : ExitStatus.error;
}

/**
 * Commander's own messages (`error: unknown option '--x'` and, on the next line, `(Did you mean --y?)`)
 * reshaped into the CLI's single `tq: ` line.
 */
export function commanderErrorLine(text: string): string {
  return `tq: ${oneLine(text.replace(/^error: /, ""))}`;
}

/** The error `--wait` ends with when the task did not finish in time. */
export function waitTimedOut(taskId: string, timeoutSeconds: number, cause: unknown): TqError {
  return new TqError(
    "TQ_TIMEOUT",
    `task ${taskId} did not finish within ${timeoutSeconds} s; it may still run: tq result ${taskId} --wait`,
    { cause },
  );
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}

function remoteTraceback(error: unknown): string | null {
  if (typeof error !== "object" || error === null || !("remoteTraceback" in error)) return null;
  const traceback = (error as { remoteTraceback: unknown }).remoteTraceback;
  return typeof traceback === "string" && traceback !== "" ? traceback : null;
}
