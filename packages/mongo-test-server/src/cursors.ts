import { calculateObjectSize, Long } from "bson";
import { CommandError } from "./errors.js";
import type { Document } from "./types.js";

/** mongod's first batch when the client gives no `batchSize`. */
const DEFAULT_FIRST_BATCH = 101;
/** mongod caps a batch near 16 MiB so a reply stays under the 48 MB message limit. */
const MAX_BATCH_BYTES = 16 * 1024 * 1024;

interface OpenCursor {
  ns: string;
  remaining: Document[];
}

/** A cursor's reply body: `firstBatch` or `nextBatch`, its id (0 = exhausted) and namespace. */
export type CursorReply = { id: Long; ns: string } & ({ firstBatch: Document[] } | { nextBatch: Document[] });

/**
 * Open cursors of the whole server (not per connection: the driver's pool may send a `getMore` on
 * another connection). A cursor holds the rest of its result, computed when it was opened; mongod reads
 * lazily, but a snapshot is enough for the sizes tests use.
 */
export class CursorRegistry {
  readonly #open = new Map<string, OpenCursor>();
  #nextId = 1 + Math.floor(Math.random() * 1_000_000);

  /** The first batch of `results`; a cursor stays open only when more remain and `singleBatch` is off. */
  open(ns: string, results: Document[], batchSize?: number, singleBatch = false): { cursor: CursorReply } {
    const firstBatch = takeBatch(results, batchSize ?? DEFAULT_FIRST_BATCH);
    let id = Long.ZERO;
    if (results.length > 0 && !singleBatch) {
      id = Long.fromNumber(this.#nextId++);
      this.#open.set(id.toString(), { ns, remaining: results });
    }
    return { cursor: { firstBatch, id, ns } };
  }

  getMore(id: Long, collection: string, batchSize?: number): { cursor: CursorReply } {
    const cursor = this.#open.get(id.toString());
    if (!cursor || cursor.ns.slice(cursor.ns.indexOf(".") + 1) !== collection) {
      throw new CommandError("CursorNotFound", `cursor id ${id.toString()} not found`);
    }
    const nextBatch = takeBatch(cursor.remaining, batchSize ?? Number.POSITIVE_INFINITY);
    const exhausted = cursor.remaining.length === 0;
    if (exhausted) this.#open.delete(id.toString());
    return { cursor: { nextBatch, id: exhausted ? Long.ZERO : id, ns: cursor.ns } };
  }

  /** Closes cursors; answers like `killCursors` does. */
  kill(ids: Long[]): Document {
    const cursorsKilled: Long[] = [];
    const cursorsNotFound: Long[] = [];
    for (const id of ids) {
      (this.#open.delete(id.toString()) ? cursorsKilled : cursorsNotFound).push(id);
    }
    return { cursorsKilled, cursorsNotFound, cursorsAlive: [], cursorsUnknown: [] };
  }

  clear(): void {
    this.#open.clear();
  }
}

/** Removes and returns up to `count` documents from the front of `results`, within the batch byte cap. */
function takeBatch(results: Document[], count: number): Document[] {
  let taken = 0;
  let bytes = 0;
  while (taken < results.length && taken < count) {
    bytes += calculateObjectSize(results[taken]!);
    if (taken > 0 && bytes > MAX_BATCH_BYTES) break;
    taken++;
  }
  return results.splice(0, taken);
}
