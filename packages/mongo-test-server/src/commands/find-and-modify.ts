import { CommandError } from "../errors.js";
import { project, select } from "../query.js";
import type { CommandHandler } from "../state.js";
import type { Document } from "../types.js";
import { applyUpdate, upsertDocument } from "../update.js";
import { collectionArgument, documentArgument } from "./arguments.js";

/**
 * `findAndModify`: finds the first match in `sort` order, then removes it or updates it (or upserts),
 * answering with the document before or (`new: true`) after, and `lastErrorObject`. It is atomic by
 * construction: the server runs one command at a time on one thread, so two clients racing to claim the
 * same document cannot both get it — the property a broker's "claim a message" step relies on.
 */
export const findAndModify: CommandHandler = (command, context, state) => {
  const commandName = Object.keys(command)[0]!;
  const name = collectionArgument(command, commandName);
  const filter = documentArgument(command, "query") ?? {};
  const fields = documentArgument(command, "fields");
  const remove = command.remove === true;
  const change = command.update as Document | Document[] | undefined;
  const returnNew = command.new === true;
  if (remove && change !== undefined) {
    throw new CommandError("FailedToParse", "Cannot specify both an update and remove=true");
  }
  if (!remove && change === undefined) {
    throw new CommandError("FailedToParse", "Either an update or remove=true must be specified");
  }
  if (remove && command.upsert === true) {
    throw new CommandError("FailedToParse", "Cannot specify both upsert=true and remove=true");
  }
  const arrayFilters = command.arrayFilters as Document[] | undefined;
  const collection = state.store.get(context.db, name);
  const [found] = collection
    ? select(collection.documents(), { filter, sort: documentArgument(command, "sort"), limit: 1 })
    : [];

  if (remove) {
    if (!found) return { lastErrorObject: { n: 0 }, value: null };
    collection!.remove(found);
    return { lastErrorObject: { n: 1 }, value: project(found, fields) };
  }
  if (found) {
    const next = applyUpdate(found, change!, { arrayFilters });
    collection!.replace(found, next);
    return {
      lastErrorObject: { n: 1, updatedExisting: true },
      value: project(returnNew ? next : found, fields),
    };
  }
  if (command.upsert !== true) return { lastErrorObject: { n: 0, updatedExisting: false }, value: null };
  const stored = state.store
    .getOrCreate(context.db, name)
    .insert(upsertDocument(filter, change!, arrayFilters));
  return {
    lastErrorObject: { n: 1, updatedExisting: false, upserted: stored._id },
    value: returnNew ? project(stored, fields) : null,
  };
};
