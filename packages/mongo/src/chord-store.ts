import type { ChordPart, ChordProgress } from "@tq/core";
import type { Collection } from "mongodb";
import { decodeValue, encodeValue } from "./backend-codec.js";
import { DUPLICATE_KEY, hasCode, wrapError } from "./errors.js";

/** A stored header member: its result JSON-encoded, so any JSON value fits BSON's rules. */
interface StoredPart {
  taskId: string;
  status: string;
  result: string;
}

/** One chord's counters in tq's chord collection. */
export interface ChordDocument {
  /** The chord's group id. */
  _id: string;
  /** Header size, once `setChordSize` ran. */
  size?: number;
  /** How many distinct members have reported. */
  received: number;
  /** Members by header index. */
  parts: Record<string, StoredPart>;
  tq_expires_at?: Date;
}

/**
 * Chord counters: one document per chord. A part is recorded with one `findOneAndUpdate` whose filter
 * requires that index to be missing, `$inc`ing `received` and returning the new document, so of
 * concurrent (or repeated) reports of the same members exactly one call sees `received === size`.
 */
export class ChordStore {
  readonly #collection: Collection<ChordDocument>;
  readonly #expiresAt: () => Date | null;

  constructor(collection: Collection<ChordDocument>, expiresAt: () => Date | null) {
    this.#collection = collection;
    this.#expiresAt = expiresAt;
  }

  async setChordSize(groupId: string, size: number): Promise<void> {
    const expiresAt = this.#expiresAt();
    await this.#collection.updateOne(
      { _id: groupId },
      {
        $set: { size, ...(expiresAt ? { tq_expires_at: expiresAt } : {}) },
        $setOnInsert: { received: 0, parts: {} },
      },
      { upsert: true },
    );
  }

  async addChordPart(groupId: string, part: ChordPart): Promise<ChordProgress> {
    const key = `parts.${part.index}`;
    const stored: StoredPart = { taskId: part.taskId, status: part.status, result: encodeValue(part.result) };
    let document: ChordDocument | null;
    try {
      document = await this.#collection.findOneAndUpdate(
        { _id: groupId, [key]: { $exists: false } },
        { $set: { [key]: stored }, $inc: { received: 1 } },
        { upsert: true, returnDocument: "after" },
      );
    } catch (error) {
      // The chord document exists and has this member already: a repeated report.
      if (!hasCode(error, DUPLICATE_KEY)) throw wrapError("record a chord part", error);
      document = null;
    }
    if (!document) {
      const current = await this.#collection.findOne({ _id: groupId });
      return { complete: false, received: current?.received ?? 0, parts: [] };
    }
    const complete = document.size !== undefined && document.received === document.size;
    return { complete, received: document.received, parts: complete ? partsOf(document) : [] };
  }

  async clearChord(groupId: string): Promise<void> {
    await this.#collection.deleteOne({ _id: groupId });
  }
}

function partsOf(document: ChordDocument): ChordPart[] {
  return Object.entries(document.parts ?? {})
    .map(([index, part]) => ({
      index: Number(index),
      taskId: part.taskId,
      status: part.status,
      result: decodeValue(part.result, `chord ${document._id}'s part ${index}`),
    }))
    .sort((a, b) => a.index - b.index);
}
