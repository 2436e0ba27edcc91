import { valueKey } from "../bson-values.js";
import type { Collection } from "../collection.js";
import { CommandError } from "../errors.js";
import { defaultIndexName, type IndexSpec } from "../indexes.js";
import type { CommandHandler } from "../state.js";
import type { Document } from "../types.js";
import { collectionArgument } from "./arguments.js";

/** The index options this server keeps (and `listIndexes` shows); the effective ones are in indexes.ts. */
const KEPT_OPTIONS = [
  "unique",
  "sparse",
  "expireAfterSeconds",
  "partialFilterExpression",
  "collation",
  "hidden",
];

function toSpec(request: Document): IndexSpec {
  const key = request.key as Document | undefined;
  if (!key || typeof key !== "object" || Object.keys(key).length === 0) {
    throw new CommandError("FailedToParse", "Index key pattern must be a non-empty document");
  }
  const spec: IndexSpec = { v: 2, key, name: String(request.name ?? defaultIndexName(key)) };
  for (const option of KEPT_OPTIONS) {
    // mongod drops `unique: false` and friends from the stored spec.
    if (request[option] !== undefined && request[option] !== false) spec[option] = request[option];
  }
  if (spec.expireAfterSeconds !== undefined) spec.expireAfterSeconds = Number(spec.expireAfterSeconds);
  return spec;
}

const sameKey = (a: IndexSpec, b: IndexSpec) => valueKey(a.key) === valueKey(b.key);
const sameOptions = (a: IndexSpec, b: IndexSpec) =>
  KEPT_OPTIONS.every((option) => valueKey(a[option]) === valueKey(b[option]));

/** Returns true when `spec` is new; no-op for an identical index; mongod's conflict errors otherwise. */
function checkConflicts(collection: Collection, spec: IndexSpec): boolean {
  for (const existing of collection.indexes) {
    if (existing.name === spec.name) {
      if (!sameKey(existing, spec)) {
        throw new CommandError(
          "IndexKeySpecsConflict",
          `An existing index has the same name as the requested index. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(existing)}`,
        );
      }
      if (!sameOptions(existing, spec)) {
        throw new CommandError(
          "IndexOptionsConflict",
          `An equivalent index already exists with the same name but different options. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(existing)}`,
        );
      }
      return false;
    }
    if (sameKey(existing, spec) && sameOptions(existing, spec)) {
      throw new CommandError(
        "IndexOptionsConflict",
        `Index already exists with a different name: ${existing.name}`,
      );
    }
  }
  return true;
}

/** `createIndexes`: creates the collection when needed; unique and TTL indexes take effect. */
export const createIndexes: CommandHandler = (command, context, state) => {
  const name = collectionArgument(command, "createIndexes");
  const createdCollectionAutomatically = state.store.get(context.db, name) === undefined;
  const collection = state.store.getOrCreate(context.db, name);
  const numIndexesBefore = collection.indexes.length;
  for (const request of (command.indexes ?? []) as Document[]) {
    const spec = toSpec(request);
    if (checkConflicts(collection, spec)) collection.addIndex(spec);
  }
  const numIndexesAfter = collection.indexes.length;
  return {
    numIndexesBefore,
    numIndexesAfter,
    ...(numIndexesAfter === numIndexesBefore ? { note: "all indexes already exist" } : {}),
    createdCollectionAutomatically,
  };
};

/** `listIndexes`: a cursor over the specs; NamespaceNotFound (26) for a missing collection, as mongod. */
export const listIndexes: CommandHandler = (command, context, state) => {
  const name = collectionArgument(command, "listIndexes");
  const collection = state.store.get(context.db, name);
  if (!collection) throw new CommandError("NamespaceNotFound", `ns does not exist: ${context.db}.${name}`);
  return state.cursors.open(
    `${context.db}.${name}`,
    collection.indexes.map((spec) => ({ ...spec })),
  );
};

/** `dropIndexes`: by name, by key pattern, a list of names, or `"*"` (all but `_id_`). */
export const dropIndexes: CommandHandler = (command, context, state) => {
  const name = collectionArgument(command, "dropIndexes");
  const collection = state.store.get(context.db, name);
  if (!collection) throw new CommandError("NamespaceNotFound", `ns not found ${context.db}.${name}`);
  const nIndexesWas = collection.indexes.length;
  const target = command.index;
  const names =
    target === "*"
      ? collection.indexes.map((spec) => spec.name).filter((indexName) => indexName !== "_id_")
      : Array.isArray(target)
        ? target.map(String)
        : typeof target === "string"
          ? [target]
          : [indexNameByKey(collection, target as Document)];
  for (const indexName of names) {
    if (indexName === "_id_") throw new CommandError("InvalidOptions", "cannot drop _id index");
    if (!collection.indexes.some((spec) => spec.name === indexName)) {
      throw new CommandError("IndexNotFound", `index not found with name [${indexName}]`);
    }
  }
  for (const indexName of names) collection.dropIndex(indexName);
  return { nIndexesWas };
};

function indexNameByKey(collection: Collection, key: Document): string {
  const spec = collection.indexes.find((candidate) => valueKey(candidate.key) === valueKey(key));
  if (!spec) throw new CommandError("IndexNotFound", `can't find index with key: ${JSON.stringify(key)}`);
  return spec.name;
}
