import { toCommandError } from "../errors.js";
import type { CommandHandler } from "../state.js";
import type { Document } from "../types.js";
import { collectionArgument } from "./arguments.js";

/**
 * `insert`: each failed document becomes a `writeErrors` entry (the command itself still answers ok: 1);
 * an ordered insert stops at the first failure, an unordered one goes on, as mongod does.
 */
export const insert: CommandHandler = (command, context, state) => {
  const name = collectionArgument(command, "insert");
  const documents = (command.documents ?? []) as Document[];
  const ordered = command.ordered !== false;
  const collection = state.store.getOrCreate(context.db, name);
  let n = 0;
  const writeErrors: Document[] = [];
  for (const [index, doc] of documents.entries()) {
    try {
      collection.insert(doc);
      n++;
    } catch (error) {
      writeErrors.push(toCommandError(error).toWriteError(index));
      if (ordered) break;
    }
  }
  return writeErrors.length > 0 ? { n, writeErrors } : { n };
};
