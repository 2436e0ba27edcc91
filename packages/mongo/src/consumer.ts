import type { Consumer, DeliveryHandler, Logger } from "@tq/core";
import type { Collection } from "mongodb";
import { command } from "./errors.js";
import type { MessageDocument } from "./message-codec.js";
import { type DeliveryHost, MongoDelivery } from "./mongo-delivery.js";
import { BackoffSleeper, type ChangeWatcher, onLocal } from "./wakeups.js";

/** What a consumer shares with its broker. */
export interface ConsumerContext extends DeliveryHost {
  readonly collection: Collection<MessageDocument>;
  readonly visibilityTimeoutMs: number;
  readonly pollIntervalMs: number;
  readonly maxPollIntervalMs: number;
  /** Key of in-process publish notifications for this collection. */
  readonly localKey: string;
  readonly watcher: ChangeWatcher;
  /** Every unsettled delivery of the broker, for the visibility keeper and close(). */
  readonly held: Set<MongoDelivery>;
  readonly logger: Logger;
}

/** The order consumers take messages in: higher priority first, then oldest, then publish order. */
export const CLAIM_SORT = { priority: -1, visibleAt: 1, _id: 1 } as const;

/** The most claims (`findOneAndUpdate`s) one consumer has under way at once. */
export const MAX_CLAIMS_IN_FLIGHT = 8;

/**
 * A consumer of some queues: a loop that claims messages with `findOneAndUpdate` (atomic on the server,
 * so concurrent consumers never get the same message), several at once while messages keep coming.
 *
 * - Each claim under way reserves a prefetch slot, so held deliveries plus claims under way never
 *   exceed `prefetch`; at most {@link MAX_CLAIMS_IN_FLIGHT} claims run at once.
 * - A claim that finds a message is followed by the next at once. The number under way starts at one
 *   and grows by one with every further claim that finds a message (doubling per round trip while a
 *   backlog lasts), so a lone message costs one claim that finds it and one that finds nothing, as
 *   with one claim at a time, and a backlog soon has every free slot claiming.
 * - A claim that finds nothing (or fails) stops new claims and takes the number back to one; once the
 *   claims under way are back, the loop sleeps with back-off (`pollIntervalMs` doubling to
 *   `maxPollIntervalMs`), cut short by a change-stream event, an in-process publish, or one of its
 *   deliveries being settled.
 */
export class MongoConsumer implements Consumer {
  readonly #context: ConsumerContext;
  readonly #queues: readonly string[];
  readonly #handler: DeliveryHandler;
  readonly #prefetch: number;
  readonly #held = new Set<MongoDelivery>();
  readonly #sleeper: BackoffSleeper;
  readonly #unsubscribes: (() => void)[] = [];
  /** What every delivery of this consumer shares with it (one object, not one per delivery). */
  readonly #host: DeliveryHost;
  readonly #claims = new Set<Promise<void>>();
  /** Bumped by every claim that finds nothing: a claim sent before that cannot widen the window. */
  #epoch = 0;
  /** How many claims may be under way now (1 to {@link MAX_CLAIMS_IN_FLIGHT}). */
  #window = 1;
  /** Claims that found a message since the last one that found nothing. */
  #found = 0;
  /** A claim found nothing or failed: no new claims until the back-off sleep is over. */
  #backingOff = false;
  #changed: (() => void) | undefined;
  #active = true;
  #loop: Promise<void> | undefined;

  constructor(
    context: ConsumerContext,
    queues: readonly string[],
    handler: DeliveryHandler,
    prefetch: number,
  ) {
    this.#context = context;
    this.#queues = [...queues];
    this.#handler = handler;
    this.#prefetch = prefetch;
    this.#sleeper = new BackoffSleeper(context.pollIntervalMs, context.maxPollIntervalMs);
    this.#host = {
      collection: context.collection,
      owner: context.owner,
      deadLetterQueue: context.deadLetterQueue,
      released: (delivery) => {
        context.released(delivery);
        this.released(delivery);
      },
      lostLease: (delivery, action) => context.lostLease(delivery, action),
      settling: (operation) => context.settling(operation),
    };
  }

  /** Starts the claim loop. */
  start(): void {
    const wake = () => this.#sleeper.wake();
    this.#unsubscribes.push(onLocal(this.#context.localKey, wake), this.#context.watcher.subscribe(wake));
    this.#loop = this.#run();
  }

  /**
   * Stops claiming; held deliveries stay valid. Resolves once the claims under way are back (a message
   * they took meanwhile is put back unseen).
   */
  async cancel(): Promise<void> {
    if (!this.#active) return this.#loop;
    this.#active = false;
    for (const unsubscribe of this.#unsubscribes.splice(0)) unsubscribe();
    this.#sleeper.wake();
    this.#signal();
    await this.#loop;
  }

  /** Called by a delivery of this consumer once it is no longer held. */
  released(delivery: MongoDelivery): void {
    if (!this.#held.delete(delivery)) return;
    this.#sleeper.wake();
    this.#signal();
  }

  async #run(): Promise<void> {
    while (this.#active) {
      if (this.#backingOff) {
        if (this.#claims.size === 0) {
          await this.#sleeper.sleep();
          this.#backingOff = false;
        } else {
          await this.#changes();
        }
        continue;
      }
      const wanted = Math.min(this.#window, this.#prefetch - this.#held.size) - this.#claims.size;
      for (let i = 0; i < wanted; i++) this.#startClaim();
      // Woken by a claim coming back, a delivery released, or cancel().
      await this.#changes();
    }
    await Promise.all([...this.#claims]);
  }

  /** Resolves at the next {@link #signal}; the loop checks its state and waits without a gap between. */
  #changes(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#changed = resolve;
    });
  }

  #signal(): void {
    const changed = this.#changed;
    this.#changed = undefined;
    changed?.();
  }

  #startClaim(): void {
    const claim: Promise<void> = this.#claimOne(this.#epoch)
      .catch((error: unknown) => {
        this.#context.logger.error("a claim failed unexpectedly", { error });
      })
      .finally(() => {
        this.#claims.delete(claim);
        this.#signal();
      });
    this.#claims.add(claim);
  }

  /** One claim, and what it found; never rejects. */
  async #claimOne(epoch: number): Promise<void> {
    let document: MessageDocument | null;
    try {
      document = await this.#claim();
    } catch (error) {
      if (this.#active) this.#context.logger.warn("cannot fetch messages from MongoDB; retrying", { error });
      this.#foundNothing();
      return;
    }
    if (!document) {
      this.#foundNothing();
      return;
    }
    if (!this.#active) {
      // Cancelled while the claim was under way: nobody saw it, so it is not a redelivery.
      await this.#returnUnseen(document);
      return;
    }
    if (epoch === this.#epoch && ++this.#found > 1) {
      this.#window = Math.min(MAX_CLAIMS_IN_FLIGHT, this.#window + 1);
    }
    this.#sleeper.reset();
    this.#deliver(document);
  }

  #foundNothing(): void {
    this.#epoch++;
    this.#window = 1;
    this.#found = 0;
    this.#backingOff = true;
  }

  async #claim(): Promise<MessageDocument | null> {
    const { collection, owner, visibilityTimeoutMs } = this.#context;
    const now = new Date();
    return command("fetch a message", () =>
      collection.findOneAndUpdate(
        {
          queue: { $in: [...this.#queues] },
          visibleAt: { $lte: now },
          $or: [{ owner: null }, { deadline: { $lt: now } }],
        },
        {
          $set: { owner, deadline: new Date(now.getTime() + visibilityTimeoutMs) },
          $inc: { deliveries: 1 },
        },
        { sort: CLAIM_SORT, returnDocument: "after" },
      ),
    );
  }

  #deliver(document: MessageDocument): void {
    let delivery: MongoDelivery;
    try {
      delivery = new MongoDelivery(this.#host, document);
    } catch (error) {
      this.#context.logger.error("dropping a message document tq cannot read", {
        error,
        "tq.queue": document.queue,
      });
      void this.#context.collection
        .deleteOne({ _id: document._id, owner: this.#context.owner })
        .catch(() => {});
      return;
    }
    this.#held.add(delivery);
    this.#context.held.add(delivery);
    void (async () => {
      try {
        await this.#handler(delivery);
      } catch (error) {
        this.#context.logger.error("a delivery handler failed", { error, "tq.queue": delivery.queue });
      }
    })();
  }

  async #returnUnseen(document: MessageDocument): Promise<void> {
    await this.#context.collection
      .updateOne(
        { _id: document._id, owner: this.#context.owner },
        { $set: { owner: null, deadline: null }, $inc: { deliveries: -1 } },
      )
      .catch((error: unknown) => {
        this.#context.logger.warn("cannot put back a message fetched while cancelling", { error });
      });
  }
}
