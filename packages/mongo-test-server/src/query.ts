import { Query } from "mingo";
import { toMatchable } from "./bson-values.js";
import type { Document } from "./types.js";

/** The parts of a read that pick and order documents (find, count, delete, update, findAndModify). */
export interface Selection {
  filter?: Document | undefined;
  sort?: Document | undefined;
  skip?: number | undefined;
  limit?: number | undefined;
}

/** A predicate for one filter, compiled once (mingo does MongoDB's query semantics). */
export function compileFilter(filter: Document | undefined): (doc: Document) => boolean {
  const query = new Query(toMatchable(filter ?? {}) as Document, {});
  return (doc) => query.test(toMatchable(doc) as Document);
}

/**
 * The stored documents that match, sorted, skipped and limited, as the stored objects themselves (so a
 * caller can update or delete them). mingo sees converted copies (see `toMatchable`); a map leads from
 * each copy back to its stored document.
 */
export function select(documents: Iterable<Document>, selection: Selection): Document[] {
  const originals = new Map<Document, Document>();
  let views: Document[] = [];
  for (const doc of documents) {
    const view = toMatchable(doc) as Document;
    originals.set(view, doc);
    views.push(view);
  }
  const sort = { ...(selection.sort ?? {}) };
  // $natural is the storage order, which is insertion order here; mingo does not know the key.
  if (sort.$natural === -1) views = views.reverse();
  delete sort.$natural;
  let cursor = new Query(toMatchable(selection.filter ?? {}) as Document, {}).find<Document>(views);
  if (Object.keys(sort).length > 0) cursor = cursor.sort(sort as Record<string, 1 | -1>);
  if (selection.skip) cursor = cursor.skip(selection.skip);
  // mongod treats a negative limit as "this many, in a single batch"; the batch part is the caller's.
  if (selection.limit) cursor = cursor.limit(Math.abs(selection.limit));
  return cursor.all().map((view) => originals.get(view) ?? view);
}

/**
 * A projected copy of `doc`. mingo builds the projection; the fields are then put back into the
 * document's own order, which mongod keeps and mingo does not (it puts included fields first).
 */
export function project(doc: Document, projection: Document | undefined): Document {
  if (!projection || Object.keys(projection).length === 0) return doc;
  const projected = new Query({}, {}).find<Document>([doc], projection).all()[0] ?? {};
  const ordered: Document = {};
  for (const key of Object.keys(doc)) if (key in projected) ordered[key] = projected[key];
  for (const key of Object.keys(projected)) if (!(key in ordered)) ordered[key] = projected[key];
  return ordered;
}
