import { aggregate, count, distinct } from "./commands/aggregate.js";
import { create, drop, dropDatabase, listCollections, listDatabases } from "./commands/databases.js";
import { deleteCommand } from "./commands/delete.js";
import { find, getMore, killCursors } from "./commands/find.js";
import { findAndModify } from "./commands/find-and-modify.js";
import {
  buildInfo,
  connectionStatus,
  getParameter,
  hello,
  isMaster,
  ping,
  serverStatus,
  whatsmyuri,
} from "./commands/handshake.js";
import { createIndexes, dropIndexes, listIndexes } from "./commands/indexes.js";
import { insert } from "./commands/insert.js";
import {
  endSessions,
  killAllSessions,
  killSessions,
  noTransactions,
  refreshSessions,
  saslStart,
  startSession,
} from "./commands/sessions.js";
import { update } from "./commands/update.js";
import { CommandError, toCommandError } from "./errors.js";
import type { CommandHandler, ServerState } from "./state.js";
import type { CommandContext, Document } from "./types.js";

/** Command name (the first field of the command document, as mongod reads it) → implementation. */
const COMMANDS: Record<string, CommandHandler> = {
  hello,
  isMaster,
  ismaster: isMaster,
  ping,
  buildInfo,
  buildinfo: buildInfo,
  whatsmyuri,
  connectionStatus,
  getParameter,
  serverStatus,
  endSessions,
  killSessions,
  killAllSessions,
  refreshSessions,
  startSession,
  saslStart,
  commitTransaction: noTransactions,
  abortTransaction: noTransactions,
  insert,
  find,
  getMore,
  killCursors,
  update,
  delete: deleteCommand,
  findAndModify,
  findandmodify: findAndModify,
  count,
  distinct,
  aggregate,
  createIndexes,
  listIndexes,
  dropIndexes,
  deleteIndexes: dropIndexes,
  create,
  drop,
  dropDatabase,
  listCollections,
  listDatabases,
};

/**
 * Runs one command and returns its reply document, `ok: 1` last as mongod writes it, or `ok: 0` with
 * `errmsg`/`code`/`codeName`. Envelope fields the driver adds (`lsid`, `$clusterTime`, `$readPreference`,
 * `txnNumber`, `writeConcern`, `readConcern`) are ignored: one in-memory node has nothing to do with them.
 */
export function runCommand(command: Document, context: CommandContext, state: ServerState): Document {
  const name = Object.keys(command)[0] ?? "";
  const handler = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  try {
    if (!handler) throw new CommandError("CommandNotFound", `no such command: '${name}'`);
    // A transaction's first command carries startTransaction; a standalone refuses it, and so do we.
    if (command.startTransaction === true || command.autocommit === false)
      noTransactions(command, context, state);
    return { ...handler(command, context, state), ok: 1 };
  } catch (error) {
    return toCommandError(error).toReply();
  }
}
