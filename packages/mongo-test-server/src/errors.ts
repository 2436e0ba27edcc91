import type { Document } from "./types.js";

/**
 * MongoDB's server error codes that this server answers with. Names match the server's `codeName`, so a
 * client's error handling written against a real mongod (matching on `code`) works unchanged here.
 */
export const ErrorCodes = {
  BadValue: 2,
  FailedToParse: 9,
  TypeMismatch: 14,
  AuthenticationFailed: 18,
  IllegalOperation: 20,
  NamespaceNotFound: 26,
  IndexNotFound: 27,
  CursorNotFound: 43,
  NamespaceExists: 48,
  CommandNotFound: 59,
  ImmutableField: 66,
  InvalidOptions: 72,
  InvalidNamespace: 73,
  IndexOptionsConflict: 85,
  IndexKeySpecsConflict: 86,
  NotImplemented: 238,
  DuplicateKey: 11000,
  Location40573: 40573,
} as const;

/** Name of a code in {@link ErrorCodes}. */
export type CodeName = keyof typeof ErrorCodes;

/**
 * An error a command answers with. Thrown anywhere below the dispatcher, it becomes an `ok: 0` reply or,
 * inside a write command, one entry of `writeErrors`.
 */
export class CommandError extends Error {
  readonly code: number;
  readonly codeName: string;
  /** Extra fields MongoDB puts beside `errmsg` (e.g. `keyPattern`/`keyValue` for duplicate keys). */
  readonly extra: Document;

  constructor(codeName: CodeName, message: string, extra: Document = {}) {
    super(message);
    this.name = "CommandError";
    this.code = ErrorCodes[codeName];
    this.codeName = codeName;
    this.extra = extra;
  }

  /** The `ok: 0` reply for this error. */
  toReply(): Document {
    return { ok: 0, errmsg: this.message, code: this.code, codeName: this.codeName, ...this.extra };
  }

  /** One `writeErrors` entry for the write at `index` of a batch. */
  toWriteError(index: number): Document {
    return { index, code: this.code, errmsg: this.message, ...this.extra };
  }
}

/**
 * Turns anything thrown while running a command into a {@link CommandError}. mingo reports unknown
 * operators and bad expressions with its own error class; mongod answers those with BadValue (code 2).
 */
export function toCommandError(error: unknown): CommandError {
  if (error instanceof CommandError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new CommandError("BadValue", message);
}
