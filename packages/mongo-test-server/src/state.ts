import type { CursorRegistry } from "./cursors.js";
import type { Store } from "./store.js";
import type { CommandContext, Document } from "./types.js";

/** What every command handler can reach: the data and the open cursors of one server. */
export interface ServerState {
  readonly store: Store;
  readonly cursors: CursorRegistry;
}

/** One command's implementation: the command document in, the reply document (without `ok`) out. */
export type CommandHandler = (command: Document, context: CommandContext, state: ServerState) => Document;
