import { Long } from "bson";
import { project, select } from "../query.js";
import type { CommandHandler } from "../state.js";
import { collectionArgument, documentArgument, numberArgument } from "./arguments.js";

/** `find`: filter, sort, skip, limit (negative = single batch), projection, batchSize, singleBatch. */
export const find: CommandHandler = (command, context, state) => {
  const name = collectionArgument(command, "find");
  const collection = state.store.get(context.db, name);
  const limit = numberArgument(command, "limit");
  const projection = documentArgument(command, "projection");
  const results = collection
    ? select(collection.documents(), {
        filter: documentArgument(command, "filter"),
        sort: documentArgument(command, "sort"),
        skip: numberArgument(command, "skip"),
        limit,
      }).map((doc) => project(doc, projection))
    : [];
  const singleBatch = command.singleBatch === true || (limit !== undefined && limit < 0);
  return state.cursors.open(
    `${context.db}.${name}`,
    results,
    numberArgument(command, "batchSize"),
    singleBatch,
  );
};

/** `getMore`: the next batch of an open cursor, or CursorNotFound (43). */
export const getMore: CommandHandler = (command, _context, state) =>
  state.cursors.getMore(
    Long.fromValue(command.getMore as Long),
    String(command.collection),
    numberArgument(command, "batchSize"),
  );

/** `killCursors`: closes the listed cursors; unknown ids are reported, not an error. */
export const killCursors: CommandHandler = (command, _context, state) =>
  state.cursors.kill(((command.cursors ?? []) as Long[]).map((id) => Long.fromValue(id)));
