import type { BrokerProbe } from "@tq/transport-tests";
import type { Db } from "mongodb";

/** Reads queue state straight from the messages collection, bypassing the broker. */
export class MessagesProbe implements BrokerProbe {
  readonly #db: Db;
  readonly #collection: string;

  constructor(db: Db, collection = "messages") {
    this.#db = db;
    this.#collection = collection;
  }

  /** Visible messages no live lease holds. */
  async readyCount(queue: string): Promise<number> {
    const now = new Date();
    return this.#count({
      queue,
      visibleAt: { $lte: now },
      $or: [{ owner: null }, { deadline: { $lt: now } }],
    });
  }

  /** Messages held under a live lease. */
  async inFlightCount(queue: string): Promise<number> {
    return this.#count({ queue, owner: { $ne: null }, deadline: { $gte: new Date() } });
  }

  async #count(filter: Record<string, unknown>): Promise<number> {
    const [row] = await this.#db
      .collection(this.#collection)
      .aggregate<{ n: number }>([{ $match: filter }, { $count: "n" }])
      .toArray();
    return row?.n ?? 0;
  }
}
