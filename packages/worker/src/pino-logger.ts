import type { LogAttributes, Logger } from "@tq/core";
import { type DestinationStream, pino } from "pino";
import { PinoPretty } from "pino-pretty";

/** Options of {@link createPinoLogger}. */
export interface PinoLoggerOptions {
  /** Lowest level written: `error`, `warn`, `info`, `debug` (or pino's `trace`, `silent`). @default "info" */
  level?: string;
  /** Human-readable lines through pino-pretty instead of JSON. @default true when stdout is a TTY */
  pretty?: boolean;
  /** The `name` field of every line. @default "tq" */
  name?: string;
  /** Where lines go. @default process.stdout */
  destination?: NodeJS.WritableStream;
}

/** The part of a pino logger the adapter uses: any pino version (or a compatible logger) fits. */
export interface PinoLike {
  error(attributes: object, message: string): void;
  warn(attributes: object, message: string): void;
  info(attributes: object, message: string): void;
  debug(attributes: object, message: string): void;
  /** pino's level check; without it every level counts as written. */
  isLevelEnabled?(level: string): boolean;
}

/**
 * A pino logger behind core's {@link Logger}: JSON lines, or pretty ones on a terminal. Errors under the
 * `error` attribute are written with their type, message and stack.
 */
export function createPinoLogger(options: PinoLoggerOptions = {}): Logger {
  const pretty = options.pretty ?? process.stdout.isTTY === true;
  const destination = options.destination ?? process.stdout;
  const settings = {
    name: options.name ?? "tq",
    level: options.level ?? "info",
    serializers: { err: pino.stdSerializers.err },
  };
  // pino-pretty as a stream in this thread rather than a transport: no worker thread to start, and
  // nothing is lost when the process exits right after a log line.
  const stream: DestinationStream = pretty
    ? PinoPretty({
        destination,
        sync: true,
        colorize: destination === process.stdout && process.stdout.isTTY,
      })
    : (destination as DestinationStream);
  return fromPino(pino(settings, stream));
}

/** Adapts a pino logger you configured yourself (pino takes the attributes first, the message second). */
export function fromPino(logger: PinoLike): Logger {
  return {
    error: (message, attributes) => logger.error(forPino(attributes), message),
    warn: (message, attributes) => logger.warn(forPino(attributes), message),
    info: (message, attributes) => logger.info(forPino(attributes), message),
    debug: (message, attributes) => logger.debug(forPino(attributes), message),
    isLevelEnabled: (level) => logger.isLevelEnabled?.(level) ?? true,
  };
}

// pino serializes errors (type, message, stack) only under its `err` key; core's loggers use `error`.
function forPino(attributes: LogAttributes | undefined): object {
  if (!attributes) return {};
  if (!(attributes.error instanceof Error) || "err" in attributes) return attributes;
  const { error, ...rest } = attributes;
  return { ...rest, err: error };
}
