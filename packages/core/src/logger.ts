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
}

/** Structured attributes attached to a log line. */
export type LogAttributes = Record<string, unknown>;

const noop = (): void => {};

/** A logger that discards everything: the default for library code. */
export const noopLogger: Logger = Object.freeze({ error: noop, warn: noop, info: noop, debug: noop });
