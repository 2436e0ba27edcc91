import { select } from "../query.js";
import type { CommandHandler } from "../state.js";
import { checkCollectionName } from "../store.js";
import type { Document } from "../types.js";
import { collectionArgument, documentArgument, numberArgument } from "./arguments.js";

/** `create`: an explicit collection; NamespaceExists (48) when it is there already. */
export const create: CommandHandler = (command, context, state) => {
  const name = collectionArgument(command, "create");
  // What is left after the command's own and the driver's envelope fields are the collection options.
  const envelope = new Set(["create", "lsid", "writeConcern", "comment", "txnNumber"]);
  const options = Object.fromEntries(
    Object.entries(command).filter(([key]) => !key.startsWith("$") && !envelope.has(key)),
  );
  state.store.create(context.db, name, options);
  return {};
};

/**
 * `drop`: as in MongoDB 7.0, dropping a collection that does not exist succeeds (older servers
 * answered NamespaceNotFound; drivers ignore either).
 */
export const drop: CommandHandler = (command, context, state) => {
  const name = command.drop;
  checkCollectionName(name);
  const collection = state.store.get(context.db, name);
  if (!collection) return {};
  const nIndexesWas = collection.indexes.length;
  state.store.drop(context.db, name);
  return { nIndexesWas, ns: collection.ns };
};

export const dropDatabase: CommandHandler = (_command, context, state) => {
  state.store.dropDatabase(context.db);
  return {};
};

/** `listCollections` with `filter` (on the entries, e.g. `{ name: "x" }`) and `nameOnly`. */
export const listCollections: CommandHandler = (command, context, state) => {
  const entries: Document[] = state.store.collections(context.db).map((collection) =>
    command.nameOnly === true
      ? { name: collection.name, type: "collection" }
      : {
          name: collection.name,
          type: "collection",
          options: collection.options,
          info: { readOnly: false, uuid: collection.uuid },
          idIndex: { v: 2, key: { _id: 1 }, name: "_id_" },
        },
  );
  const matching = select(entries, { filter: documentArgument(command, "filter") });
  const cursor = documentArgument(command, "cursor") ?? {};
  return state.cursors.open(
    `${context.db}.$cmd.listCollections`,
    matching,
    numberArgument(cursor, "batchSize"),
  );
};

export const listDatabases: CommandHandler = (command, _context, state) => {
  const databases = state.store
    .databaseNames()
    .map((name) => (command.nameOnly === true ? { name } : { name, sizeOnDisk: 0, empty: false }));
  return { databases, totalSize: 0, totalSizeMb: 0 };
};
