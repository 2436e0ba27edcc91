import { toCommandError } from "../errors.js";
import { select } from "../query.js";
import type { CommandHandler } from "../state.js";
import type { Document } from "../types.js";
import { collectionArgument } from "./arguments.js";

interface DeleteStatement {
  q?: Document;
  limit?: number;
}

/** `delete`: each statement removes the first match (`limit: 1`) or every match (`limit: 0`). */
export const deleteCommand: CommandHandler = (command, context, state) => {
  const name = collectionArgument(command, "delete");
  const statements = (command.deletes ?? []) as DeleteStatement[];
  const ordered = command.ordered !== false;
  const collection = state.store.get(context.db, name);
  let n = 0;
  const writeErrors: Document[] = [];
  for (const [index, statement] of statements.entries()) {
    try {
      if (!collection) continue;
      const limit = Number(statement.limit ?? 0) === 1 ? 1 : 0;
      const matched = select(collection.documents(), { filter: statement.q ?? {}, limit });
      for (const doc of matched) collection.remove(doc);
      n += matched.length;
    } catch (error) {
      writeErrors.push(toCommandError(error).toWriteError(index));
      if (ordered) break;
    }
  }
  return writeErrors.length > 0 ? { n, writeErrors } : { n };
};
