import { UUID } from "bson";
import { CommandError } from "../errors.js";
import type { CommandHandler } from "../state.js";

/**
 * Sessions are accepted and forgotten: the driver sends an `lsid` with every command and `endSessions`
 * on close, and each command here runs atomically anyway, so there is no session state to keep.
 */
export const endSessions: CommandHandler = () => ({});
export const killSessions: CommandHandler = () => ({});
export const killAllSessions: CommandHandler = () => ({});
export const refreshSessions: CommandHandler = () => ({});
export const startSession: CommandHandler = () => ({ id: { id: new UUID() }, timeoutMinutes: 30 });

/** Transactions need a replica set; mongod's standalone answer is IllegalOperation. */
export const noTransactions: CommandHandler = () => {
  throw new CommandError(
    "IllegalOperation",
    "Transaction numbers are only allowed on a replica set member or mongos",
  );
};

/** There are no users; a client that tries to authenticate fails as it would on mongod without the user. */
export const saslStart: CommandHandler = () => {
  throw new CommandError("AuthenticationFailed", "Authentication failed.");
};
