import { Aggregator } from "mingo";
import { cloneDocument, toMatchable, valueKey } from "../bson-values.js";
import { CommandError } from "../errors.js";
import { getPath } from "../paths.js";
import { select } from "../query.js";
import type { CommandHandler } from "../state.js";
import type { Document } from "../types.js";
import { collectionArgument, documentArgument, numberArgument } from "./arguments.js";

/**
 * `aggregate` through mingo's pipeline ($match, $sort, $limit, $skip, $group, $count, $project…). A
 * `$changeStream` stage gets mongod's standalone answer (40573), so a client falls back to polling
 * exactly as it would against a standalone mongod. Documents that pass through unchanged go back out
 * as copies of the stored documents with their BSON types (mingo itself sees Longs as numbers).
 */
export const aggregate: CommandHandler = (command, context, state) => {
  const pipeline = (command.pipeline ?? []) as Document[];
  if (pipeline.some((stage) => "$changeStream" in stage)) {
    throw new CommandError("Location40573", "The $changeStream stage is only supported on replica sets");
  }
  const target = command.aggregate;
  const name = target === 1 ? undefined : collectionArgument(command, "aggregate");
  const collection = name === undefined ? undefined : state.store.get(context.db, name);
  // A leading $match runs on the stored documents (cheap, read-only); the rest of the pipeline gets
  // copies, because mingo's stages may change their input in place ($addFields on a nested path does).
  const [first, ...rest] = pipeline;
  const leadingMatch = first && "$match" in first ? (first.$match as Document) : undefined;
  const input = collection ? select(collection.documents(), { filter: leadingMatch }) : [];
  const stages = leadingMatch ? rest : pipeline;
  const originals = new Map<unknown, Document>();
  const views = input.map((doc) => {
    const copy = cloneDocument(doc);
    const view = toMatchable(copy) as Document;
    originals.set(view, copy);
    return view;
  });
  const results = new Aggregator(toMatchable(stages) as Document[], {}).run(views) as Document[];
  const cursor = documentArgument(command, "cursor") ?? {};
  const ns = name === undefined ? `${context.db}.$cmd.aggregate` : `${context.db}.${name}`;
  return state.cursors.open(
    ns,
    results.map((doc) => originals.get(doc) ?? doc),
    numberArgument(cursor, "batchSize"),
  );
};

/** `count` (the driver's `estimatedDocumentCount`; `countDocuments` is an aggregate). */
export const count: CommandHandler = (command, context, state) => {
  const name = collectionArgument(command, "count");
  const collection = state.store.get(context.db, name);
  if (!collection) return { n: 0 };
  const filter = documentArgument(command, "query");
  const skip = numberArgument(command, "skip");
  const limit = numberArgument(command, "limit");
  if (!filter && !skip && !limit) return { n: collection.size };
  return { n: select(collection.documents(), { filter, skip, limit }).length };
};

/** `distinct`: the different values of `key` among matching documents, array elements counted singly. */
export const distinct: CommandHandler = (command, context, state) => {
  const name = collectionArgument(command, "distinct");
  const key = String(command.key);
  const collection = state.store.get(context.db, name);
  const seen = new Map<string, unknown>();
  const matched = collection
    ? select(collection.documents(), { filter: documentArgument(command, "query") })
    : [];
  for (const doc of matched) {
    const value = getPath(doc, key);
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      if (!seen.has(valueKey(item))) seen.set(valueKey(item), item);
    }
  }
  return { values: [...seen.values()] };
};
