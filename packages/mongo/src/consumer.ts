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

/**
 * A consumer of some queues: a loop that claims one message at a time with `findOneAndUpdate` (atomic
 * on the server, so concurrent consumers never get the same message) while it holds fewer than
 * `prefetch`. When a claim finds nothing it sleeps with back-off (50 ms doubling to 1 s by default),
 * cut short by a change-stream event, an in-process publish, or one of its deliveries being settled.
 */
export class MongoConsumer implements Consumer {
  readonly #context: ConsumerContext;
  readonly #queues: readonly string[];
  readonly #handler: DeliveryHandler;
  readonly #prefetch: number;
  readonly #held = new Set<MongoDelivery>();
  readonly #sleeper: BackoffSleeper;
  readonly #unsubscribes: (() => void)[] = [];
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
  }

  /** Starts the claim loop. */
  start(): void {
    const wake = () => this.#sleeper.wake();
    this.#unsubscribes.push(onLocal(this.#context.localKey, wake), this.#context.watcher.subscribe(wake));
    this.#loop = this.#run();
  }

  /** Stops claiming; held deliveries stay valid. */
  async cancel(): Promise<void> {
    if (!this.#active) return this.#loop;
    this.#active = false;
    for (const unsubscribe of this.#unsubscribes.splice(0)) unsubscribe();
    this.#sleeper.wake();
    await this.#loop;
  }

  /** Called by a delivery of this consumer once it is no longer held. */
  released(delivery: MongoDelivery): void {
    if (this.#held.delete(delivery)) this.#sleeper.wake();
  }

  async #run(): Promise<void> {
    while (this.#active) {
      if (this.#held.size >= this.#prefetch) {
        await this.#sleeper.sleep(this.#context.maxPollIntervalMs);
        continue;
      }
      let document: MessageDocument | null;
      try {
        document = await this.#claim();
      } catch (error) {
        if (!this.#active) break;
        this.#context.logger.warn("cannot fetch messages from MongoDB; retrying", { error });
        await this.#sleeper.sleep();
        continue;
      }
      if (!document) {
        await this.#sleeper.sleep();
        continue;
      }
      if (!this.#active) {
        // Cancelled while the claim was under way: nobody saw it, so it is not a redelivery.
        await this.#returnUnseen(document);
        break;
      }
      this.#sleeper.reset();
      this.#deliver(document);
    }
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
    const consumer = this;
    const host: DeliveryHost = {
      collection: this.#context.collection,
      owner: this.#context.owner,
      deadLetterQueue: this.#context.deadLetterQueue,
      released(delivery) {
        consumer.#context.released(delivery);
        consumer.released(delivery);
      },
      lostLease: (delivery, action) => this.#context.lostLease(delivery, action),
      settling: (operation) => this.#context.settling(operation),
    };
    let delivery: MongoDelivery;
    try {
      delivery = new MongoDelivery(host, document);
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
