import { TqError } from "@tq/core";
import { MongoServerError } from "mongodb";

/** The component name in error messages: `[tq] [mongo] …`. */
export const COMPONENT = "mongo";

/** MongoDB's duplicate-key error code. */
export const DUPLICATE_KEY = 11000;

/**
 * Wraps a driver error: a server's reply becomes `TQ_MONGO` (with the server's `code` kept in
 * `cause`), anything else (network, selection time-out) `TQ_CONNECTION`. TqErrors pass through.
 */
export function wrapError(action: string, error: unknown): TqError {
  if (TqError.is(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof MongoServerError ? "TQ_MONGO" : "TQ_CONNECTION";
  return new TqError(code, `cannot ${action}: ${message}`, { component: COMPONENT, cause: error });
}

/** Runs a driver call, wrapping what it throws with {@link wrapError}. */
export async function command<T>(action: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw wrapError(action, error);
  }
}

/** True for a server error with one of the given codes. */
export function hasCode(error: unknown, ...codes: number[]): boolean {
  const cause = TqError.is(error) ? (error as { cause?: unknown }).cause : error;
  return cause instanceof MongoServerError && typeof cause.code === "number" && codes.includes(cause.code);
}

/** A `TQ_CLOSED` error of this component. */
export function closedError(what: string): TqError {
  return new TqError("TQ_CLOSED", `the MongoDB ${what} is closed`, { component: COMPONENT });
}

/** A `TQ_CONFIG` error of this component. */
export function configError(message: string): TqError {
  return new TqError("TQ_CONFIG", message, { component: COMPONENT });
}
