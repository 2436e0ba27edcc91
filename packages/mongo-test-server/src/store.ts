import { Collection } from "./collection.js";
import { CommandError } from "./errors.js";
import type { Document } from "./types.js";

/**
 * All databases and their collections, in memory. Databases and collections come into being on first
 * write, as in mongod, and a database with no collection left is gone.
 */
export class Store {
  readonly #databases = new Map<string, Map<string, Collection>>();

  get(db: string, name: string): Collection | undefined {
    return this.#databases.get(db)?.get(name);
  }

  /** The collection, created (implicitly, like mongod on a first write) when missing. */
  getOrCreate(db: string, name: string, options: Document = {}): Collection {
    return this.get(db, name) ?? this.create(db, name, options);
  }

  create(db: string, name: string, options: Document = {}): Collection {
    checkCollectionName(name);
    if (this.get(db, name)) {
      throw new CommandError("NamespaceExists", `Collection ${db}.${name} already exists.`);
    }
    let collections = this.#databases.get(db);
    if (!collections) {
      collections = new Map();
      this.#databases.set(db, collections);
    }
    const collection = new Collection(db, name, options);
    collections.set(name, collection);
    return collection;
  }

  drop(db: string, name: string): boolean {
    const collections = this.#databases.get(db);
    const dropped = collections?.delete(name) ?? false;
    if (collections?.size === 0) this.#databases.delete(db);
    return dropped;
  }

  dropDatabase(db: string): void {
    this.#databases.delete(db);
  }

  collections(db: string): Collection[] {
    return [...(this.#databases.get(db)?.values() ?? [])];
  }

  databaseNames(): string[] {
    return [...this.#databases.keys()];
  }

  allCollections(): Collection[] {
    return [...this.#databases.values()].flatMap((collections) => [...collections.values()]);
  }
}

/** mongod's rules for a collection name that this server can meet (empty, `$`, NUL). */
export function checkCollectionName(name: unknown): asserts name is string {
  if (typeof name !== "string" || name.length === 0 || name.includes("$") || name.includes("\0")) {
    throw new CommandError("InvalidNamespace", `Invalid collection name: ${String(name)}`);
  }
}
