import { sameBson } from "../bson-values.js";
import { CommandError, toCommandError } from "../errors.js";
import { select } from "../query.js";
import type { CommandHandler, ServerState } from "../state.js";
import type { Document } from "../types.js";
import { applyUpdate, isOperatorUpdate, upsertDocument } from "../update.js";
import { collectionArgument } from "./arguments.js";

interface UpdateStatement {
  q?: Document;
  u: Document | Document[];
  multi?: boolean;
  upsert?: boolean;
  arrayFilters?: Document[];
  sort?: Document;
}

interface StatementResult {
  n: number;
  nModified: number;
  upsertedId?: unknown;
}

/**
 * `update`: each statement matches (one, or all with `multi`), applies operators or a replacement, and
 * upserts when nothing matched. `nModified` counts only documents whose BSON actually changed, as mongod.
 */
export const update: CommandHandler = (command, context, state) => {
  const name = collectionArgument(command, "update");
  const statements = (command.updates ?? []) as UpdateStatement[];
  const ordered = command.ordered !== false;
  let n = 0;
  let nModified = 0;
  const upserted: Document[] = [];
  const writeErrors: Document[] = [];
  for (const [index, statement] of statements.entries()) {
    try {
      const result = runStatement(state, context.db, name, statement);
      n += result.n;
      nModified += result.nModified;
      if (result.upsertedId !== undefined) upserted.push({ index, _id: result.upsertedId });
    } catch (error) {
      writeErrors.push(toCommandError(error).toWriteError(index));
      if (ordered) break;
    }
  }
  return {
    n,
    nModified,
    ...(upserted.length > 0 ? { upserted } : {}),
    ...(writeErrors.length > 0 ? { writeErrors } : {}),
  };
};

function runStatement(
  state: ServerState,
  db: string,
  name: string,
  statement: UpdateStatement,
): StatementResult {
  const filter = statement.q ?? {};
  if (statement.multi && !isOperatorUpdate(statement.u)) {
    throw new CommandError("FailedToParse", "multi update is not supported for replacement-style update");
  }
  const collection = state.store.get(db, name);
  const matched = collection
    ? select(collection.documents(), { filter, sort: statement.sort, limit: statement.multi ? 0 : 1 })
    : [];
  if (matched.length === 0) {
    if (!statement.upsert) return { n: 0, nModified: 0 };
    const doc = upsertDocument(filter, statement.u, statement.arrayFilters);
    const stored = state.store.getOrCreate(db, name).insert(doc);
    return { n: 1, nModified: 0, upsertedId: stored._id };
  }
  let nModified = 0;
  for (const doc of matched) {
    const next = applyUpdate(doc, statement.u, { arrayFilters: statement.arrayFilters });
    if (sameBson(doc, next)) continue;
    collection!.replace(doc, next);
    nModified++;
  }
  return { n: matched.length, nModified };
}
