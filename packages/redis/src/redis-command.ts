import { TqError } from "@tq/core";

/**
 * Runs one Redis operation and turns a driver error into a TqError naming the action: `TQ_REDIS` for an
 * error reply from the server, `TQ_CONNECTION` for anything else. TqErrors pass through unchanged.
 */
export async function redisCommand<T>(action: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (TqError.is(error)) throw error;
    const replied = error instanceof Error && error.name === "ReplyError";
    const message = error instanceof Error ? error.message : String(error);
    throw new TqError(replied ? "TQ_REDIS" : "TQ_CONNECTION", `cannot ${action}: ${message}`, {
      component: "redis",
      cause: error,
    });
  }
}
