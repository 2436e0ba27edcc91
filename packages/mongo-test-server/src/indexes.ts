import { formatValue, valueKey } from "./bson-values.js";
import { CommandError } from "./errors.js";
import { getPath } from "./paths.js";
import { compileFilter } from "./query.js";
import type { Document } from "./types.js";

/** An index as `listIndexes` reports it. Only `unique`, `sparse`, partial filters and TTL have effects. */
export interface IndexSpec {
  v: 2;
  key: Document;
  name: string;
  unique?: boolean;
  sparse?: boolean;
  expireAfterSeconds?: number;
  partialFilterExpression?: Document;
  [option: string]: unknown;
}

/** The `_id_` index every collection has. */
export const ID_INDEX: IndexSpec = { v: 2, key: { _id: 1 }, name: "_id_" };

/** mongod's default index name: `a_1_b_-1`. */
export function defaultIndexName(key: Document): string {
  return Object.entries(key)
    .map(([field, direction]) => `${field}_${String(direction)}`)
    .join("_");
}

/**
 * A unique index: a map from the index key of each covered document to that document's `_id` key, so
 * a write checks for a duplicate in constant time. Array values are compared as a whole (mongod would
 * index each element); no test utility here needs unique multikey indexes.
 */
export class UniqueIndex {
  readonly spec: IndexSpec;
  readonly #fields: string[];
  readonly #covers: (doc: Document) => boolean;
  readonly #entries = new Map<string, string>();

  constructor(spec: IndexSpec) {
    this.spec = spec;
    this.#fields = Object.keys(spec.key);
    const partial = spec.partialFilterExpression ? compileFilter(spec.partialFilterExpression) : undefined;
    this.#covers = (doc) =>
      (!spec.sparse || this.#fields.some((field) => getPath(doc, field) !== undefined)) &&
      (partial === undefined || partial(doc));
  }

  #keyOf(doc: Document): string | undefined {
    if (!this.#covers(doc)) return undefined;
    return JSON.stringify(this.#fields.map((field) => valueKey(getPath(doc, field))));
  }

  /** Throws mongod's DuplicateKey error when `doc` would collide with another document (`idKey` is its own). */
  check(doc: Document, idKey: string, ns: string): void {
    const key = this.#keyOf(doc);
    if (key === undefined) return;
    const holder = this.#entries.get(key);
    if (holder !== undefined && holder !== idKey) throw duplicateKeyError(ns, this.spec, doc);
  }

  add(doc: Document, idKey: string): void {
    const key = this.#keyOf(doc);
    if (key !== undefined) this.#entries.set(key, idKey);
  }

  remove(doc: Document): void {
    const key = this.#keyOf(doc);
    if (key !== undefined) this.#entries.delete(key);
  }
}

/**
 * mongod's E11000 error, with the `keyPattern` and `keyValue` fields drivers expose on the error
 * (`err.keyValue`), so code that reads them works the same here.
 */
export function duplicateKeyError(ns: string, spec: IndexSpec, doc: Document): CommandError {
  const keyValue: Document = {};
  for (const field of Object.keys(spec.key)) keyValue[field] = getPath(doc, field) ?? null;
  const shown = Object.entries(keyValue)
    .map(([field, value]) => `${field}: ${formatValue(value)}`)
    .join(", ");
  return new CommandError(
    "DuplicateKey",
    `E11000 duplicate key error collection: ${ns} index: ${spec.name} dup key: { ${shown} }`,
    { keyPattern: spec.key, keyValue },
  );
}
