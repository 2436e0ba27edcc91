/**
 * Errors thrown by tq. Every error carries a stable string `code`: match on it, never on the message.
 * `TqError.is()` is a brand check through `Symbol.for`, so it works across duplicate copies of core.
 */

const brand = Symbol.for("tq.error.v1");

/** The codes tq uses. Transport packages may add their own `TQ_*` codes. */
export type TqErrorCode =
  | "TQ_CONNECTION"
  | "TQ_TIMEOUT"
  | "TQ_ABORTED"
  | "TQ_CONFIG"
  | "TQ_SERIALIZATION"
  | "TQ_MESSAGE_INVALID"
  | "TQ_UNKNOWN_SCHEME"
  | "TQ_TRANSPORT_CONFLICT"
  | "TQ_MISSING_PACKAGE"
  | "TQ_TASK_NOT_REGISTERED"
  | "TQ_TASK_FAILED"
  | "TQ_TASK_REVOKED"
  | "TQ_CLOSED"
  | "TQ_INVALID_ARGUMENTS"
  | "TQ_NO_CURRENT_TASK"
  | (string & {});

/** Options accepted by every {@link TqError}. */
export interface TqErrorOptions {
  /** The underlying error, e.g. the driver's. */
  cause?: unknown;
  /** Which component raised it; becomes the `[tq] [component]` prefix of the message. */
  component?: string;
}

/** Base class of every error tq throws on purpose. */
export class TqError extends Error {
  /** Stable machine-readable code. */
  readonly code: TqErrorCode;
  /** @internal brand that survives duplicate copies of core. */
  readonly [brand] = true;

  constructor(code: TqErrorCode, message: string, options: TqErrorOptions = {}) {
    const prefix = options.component ? `[tq] [${options.component}] ` : "[tq] ";
    super(prefix + message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "TqError";
    this.code = code;
  }

  /** True for any TqError, from any copy of `@tq/core`; narrows to a given code when one is passed. */
  static is(value: unknown, code?: TqErrorCode): value is TqError {
    if (typeof value !== "object" || value === null) return false;
    if ((value as Record<symbol, unknown>)[brand] !== true) return false;
    return code === undefined || (value as TqError).code === code;
  }
}

/** Wraps an unknown thrown value into an Error, keeping Errors as they are. */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === "string" ? value : safeString(value));
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
