import type { Delivery, TransportMessage } from "@tq/core";
import { TqError } from "@tq/core";
import type { Collection, ObjectId } from "mongodb";
import { COMPONENT, command } from "./errors.js";
import { decodePayload, type MessageDocument } from "./message-codec.js";

/** What a delivery needs from its broker. */
export interface DeliveryHost {
  readonly collection: Collection<MessageDocument>;
  /** The broker's consumer id, written to `owner` by the claim. */
  readonly owner: string;
  readonly deadLetterQueue: string | undefined;
  /** Called once when the delivery stops being held (settled, or put back by close). */
  released(delivery: MongoDelivery): void;
  /** Reports a settle that found the message no longer held by this consumer. */
  lostLease(delivery: MongoDelivery, action: string): void;
  /** Hands over a settle under way, which the broker's close() lets finish before closing the client. */
  settling(operation: Promise<unknown>): void;
}

type State = "held" | "settled" | "closed";

/**
 * A message claimed by a consumer: its document carries `owner` = this broker's id and a `deadline`.
 * Every settle is conditional on `owner`, so a consumer whose lease ran out (and whose message went
 * to another consumer) cannot delete or move what it no longer holds.
 */
export class MongoDelivery implements Delivery {
  readonly message: TransportMessage;
  readonly queue: string;
  readonly redelivered: boolean;
  readonly id: ObjectId;
  /** The latest deadline asked for through {@link extendVisibility}; the keeper never shortens it. */
  extendedUntil = 0;
  readonly #host: DeliveryHost;
  #state: State = "held";

  constructor(host: DeliveryHost, document: MessageDocument) {
    this.#host = host;
    this.id = document._id;
    this.queue = document.queue;
    this.redelivered = document.deliveries > 1;
    this.message = decodePayload(document.payload);
  }

  /** True until settled or put back by close. */
  get held(): boolean {
    return this.#state === "held";
  }

  /** Deletes the message. */
  ack(): Promise<void> {
    return this.#settle("ack", () => this.#delete());
  }

  /** Deletes the message, or moves it to the dead-letter queue when one is configured. */
  reject(): Promise<void> {
    const deadLetter = this.#host.deadLetterQueue;
    if (deadLetter === undefined) return this.#settle("reject", () => this.#delete());
    return this.#settle("reject", () =>
      this.#update({ queue: deadLetter, owner: null, deadline: null, visibleAt: new Date() }),
    );
  }

  /** Makes the message ready again (it keeps its place: its `visibleAt` is unchanged). */
  requeue(): Promise<void> {
    return this.#settle("requeue", () => this.#update({ owner: null, deadline: null }));
  }

  /** Keeps the message invisible to other consumers for `ms` more milliseconds. */
  async extendVisibility(ms: number): Promise<void> {
    if (this.#state !== "held") throw this.#settledError();
    if (!Number.isFinite(ms) || ms < 0) {
      throw new TqError("TQ_CONFIG", `extendVisibility needs a number of ms ≥ 0, got ${ms}`, {
        component: COMPONENT,
      });
    }
    const until = Date.now() + ms;
    this.extendedUntil = Math.max(this.extendedUntil, until);
    const held = await this.#update({ deadline: new Date(until) });
    if (!held) this.#host.lostLease(this, "extend its visibility");
  }

  /** For close(): makes an unsettled message ready again; it counts as a redelivery. */
  async putBack(): Promise<void> {
    if (this.#state !== "held") return;
    this.#state = "closed";
    this.#host.released(this);
    await this.#update({ owner: null, deadline: null });
  }

  async #settle(action: string, operation: () => Promise<boolean>): Promise<void> {
    if (this.#state !== "held") throw this.#settledError();
    this.#state = "settled";
    // Released first even if MongoDB fails: the lease runs out and the message is delivered again.
    this.#host.released(this);
    const settled = operation();
    this.#host.settling(settled);
    const held = await settled;
    if (!held) this.#host.lostLease(this, action);
  }

  async #delete(): Promise<boolean> {
    const result = await command("settle a message", () =>
      this.#host.collection.deleteOne({ _id: this.id, owner: this.#host.owner }),
    );
    return result.deletedCount === 1;
  }

  async #update(fields: Partial<MessageDocument>): Promise<boolean> {
    const result = await command("settle a message", () =>
      this.#host.collection.updateOne({ _id: this.id, owner: this.#host.owner }, { $set: fields }),
    );
    return result.matchedCount === 1;
  }

  #settledError(): TqError {
    return this.#state === "closed"
      ? new TqError("TQ_CLOSED", "the broker closed and put this message back", { component: COMPONENT })
      : new TqError("TQ_DELIVERY_SETTLED", "this delivery was already settled", { component: COMPONENT });
  }
}
