import { ObjectId, UUID } from "bson";
import { valueKey } from "./bson-values.js";
import { CommandError } from "./errors.js";
import { duplicateKeyError, ID_INDEX, type IndexSpec, UniqueIndex } from "./indexes.js";
import type { Document } from "./types.js";

/**
 * One collection: documents in insertion order (which is `$natural` order) keyed by their `_id`, plus
 * its indexes. Every write goes through `insert`/`replace`/`remove`, which check unique indexes before
 * changing anything, so a failed write leaves no trace.
 */
export class Collection {
  readonly db: string;
  readonly name: string;
  readonly uuid = new UUID();
  readonly options: Document;
  readonly #documents = new Map<string, Document>();
  readonly #indexes: IndexSpec[] = [ID_INDEX];
  readonly #unique: UniqueIndex[] = [];

  constructor(db: string, name: string, options: Document = {}) {
    this.db = db;
    this.name = name;
    this.options = options;
  }

  get ns(): string {
    return `${this.db}.${this.name}`;
  }

  get size(): number {
    return this.#documents.size;
  }

  documents(): IterableIterator<Document> {
    return this.#documents.values();
  }

  get indexes(): readonly IndexSpec[] {
    return this.#indexes;
  }

  /** Stores a new document; an `_id` is generated (as the first field, like mongod) when missing. */
  insert(doc: Document): Document {
    // mongod always stores _id as the first field, generating an ObjectId when the client sent none.
    const { _id = new ObjectId(), ...fields } = doc;
    doc = { _id, ...fields };
    if (Array.isArray(doc._id)) {
      throw new CommandError("BadValue", "can't use an array for _id");
    }
    const idKey = valueKey(doc._id);
    if (this.#documents.has(idKey)) throw duplicateKeyError(this.ns, ID_INDEX, doc);
    for (const index of this.#unique) index.check(doc, idKey, this.ns);
    for (const index of this.#unique) index.add(doc, idKey);
    this.#documents.set(idKey, doc);
    return doc;
  }

  /** Replaces a stored document by its updated version (same `_id`, checked by the caller). */
  replace(previous: Document, next: Document): void {
    const idKey = valueKey(previous._id);
    for (const index of this.#unique) index.check(next, idKey, this.ns);
    for (const index of this.#unique) {
      index.remove(previous);
      index.add(next, idKey);
    }
    // Map.set on an existing key keeps its position, so natural order survives updates.
    this.#documents.set(idKey, next);
  }

  remove(doc: Document): void {
    for (const index of this.#unique) index.remove(doc);
    this.#documents.delete(valueKey(doc._id));
  }

  /** Adds an index; a unique one is built over the existing documents first and refused on duplicates. */
  addIndex(spec: IndexSpec): void {
    if (spec.unique) {
      const index = new UniqueIndex(spec);
      for (const [idKey, doc] of this.#documents) {
        index.check(doc, idKey, this.ns);
        index.add(doc, idKey);
      }
      this.#unique.push(index);
    }
    this.#indexes.push(spec);
  }

  dropIndex(name: string): void {
    const at = this.#indexes.findIndex((spec) => spec.name === name);
    if (at >= 0) this.#indexes.splice(at, 1);
    const uniqueAt = this.#unique.findIndex((index) => index.spec.name === name);
    if (uniqueAt >= 0) this.#unique.splice(uniqueAt, 1);
  }
}
