import { getPath } from "./paths.js";
import type { Store } from "./store.js";

/**
 * Deletes the documents whose TTL index says they have expired, as mongod's TTL monitor does (a
 * document expires `expireAfterSeconds` after the date in the indexed field; with an array of dates,
 * after the earliest; a document without a date there never expires). Returns how many were deleted.
 */
export function sweepExpired(store: Store, now = Date.now()): number {
  let deleted = 0;
  for (const collection of store.allCollections()) {
    for (const spec of collection.indexes) {
      const field = Object.keys(spec.key)[0];
      if (typeof spec.expireAfterSeconds !== "number" || field === undefined) continue;
      const expiresAfterMs = spec.expireAfterSeconds * 1000;
      const expired = [...collection.documents()].filter((doc) => {
        const earliest = earliestDate(getPath(doc, field));
        return earliest !== undefined && earliest + expiresAfterMs <= now;
      });
      for (const doc of expired) collection.remove(doc);
      deleted += expired.length;
    }
  }
  return deleted;
}

function earliestDate(value: unknown): number | undefined {
  const dates = (Array.isArray(value) ? value : [value]).filter((item): item is Date => item instanceof Date);
  return dates.length === 0 ? undefined : Math.min(...dates.map((date) => date.getTime()));
}
