/** What a command reads from and writes to, so that commands stay free of `process` globals. */
export interface CliContext {
  /** Environment variables (`TQ_BROKER_URL`, `TQ_RESULT_BACKEND`…). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Directory relative paths are resolved against. */
  readonly cwd: string;
  /** Writes one line of output (ids, JSON results) to stdout. */
  out(line: string): void;
  /** Writes one line of diagnostics (the banner, errors) to stderr. */
  err(line: string): void;
  /** Status to exit with once the command returns. */
  exitStatus: number;
  /** Set by a command that keeps running after its action returned (the worker). */
  keepsRunning: boolean;
}
