/**
 * The logging contract of tq libraries: four methods with a message and an attributes object.
 * Attribute keys follow `tq.*` names (`tq.queue`, `tq.task_id`, `tq.task_name`) so they map directly
 * onto OpenTelemetry attributes. Libraries default to {@link noopLogger}; the worker and CLI use pino,
 * through the `fromPino` adapter of `@tq/worker`.
 */
export interface Logger {
  /** A failure that needs attention. */
  error(message: string, attributes?: LogAttributes): void;
  /** Something unexpected that tq handled. */
  warn(message: string, attributes?: LogAttributes): void;
  /** A normal event worth seeing in production. */
  info(message: string, attributes?: LogAttributes): void;
  /** Detail for troubleshooting. */
  debug(message: string, attributes?: LogAttributes): void;
  /**
   * Whether lines of `level` are written. Optional: hot paths (a line per task) ask it before they
   * build a line's text and attributes; a logger without it is treated as writing every level.
   */
  isLevelEnabled?(level: LogLevel): boolean;
}

/** The levels of {@link Logger}. */
export type LogLevel = "error" | "warn" | "info" | "debug";

/** Whether `logger` writes `level` lines ({@link Logger.isLevelEnabled}, true when it cannot say). */
export function isLevelEnabled(logger: Logger, level: LogLevel): boolean {
  return logger.isLevelEnabled?.(level) ?? true;
}

/** Structured attributes attached to a log line. */
export type LogAttributes = Record<string, unknown>;

const noop = (): void => {};

/** A logger that discards everything: the default for library code. */
export const noopLogger: Logger = Object.freeze({
  error: noop,
  warn: noop,
  info: noop,
  debug: noop,
  isLevelEnabled: () => false,
});
