import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type {
  BroadcastHandler,
  BroadcastOptions,
  Broker,
  BrokerCapabilities,
  ConsumeOptions,
  Consumer,
  DeliveryHandler,
  Logger,
  PublishOptions,
  PublishTarget,
  TransportMessage,
} from "@tq/core";
import { TqError } from "@tq/core";
import { type Collection, ObjectId } from "mongodb";
import { BroadcastRegistry, type SubscriberDocument } from "./broadcast.js";
import {
  type MongoBrokerOptions,
  type ResolvedBrokerOptions,
  resolveBrokerOptions,
} from "./broker-options.js";
import { MongoConnection } from "./connection.js";
import { MongoConsumer } from "./consumer.js";
import { COMPONENT, closedError, command, configError } from "./errors.js";
import { InsertBatcher } from "./insert-batcher.js";
import { encodePayload, type MessageDocument, priorityOf } from "./message-codec.js";
import type { MongoDelivery } from "./mongo-delivery.js";
import { ChangeWatcher, notifyLocal } from "./wakeups.js";

/** The database a broker URL without a path uses. */
export const DEFAULT_BROKER_DATABASE = "tq";

const CAPABILITIES: BrokerCapabilities = Object.freeze({
  delayedDelivery: true,
  priorities: true,
  broadcast: true,
  visibilityExtension: true,
});

// Wake consumers for new messages and requeued ones (owner set back to null); claims (owner set to a
// consumer) and acks (deletes) wake nobody.
const WAKE_PIPELINE = [
  {
    $match: {
      $or: [{ operationType: "insert" }, { "updateDescription.updatedFields.owner": { $type: "null" } }],
    },
  },
];

/**
 * A {@link Broker} on MongoDB: every queue's messages in one collection (`messages` by default), one
 * document per message, claimed atomically with `findOneAndUpdate` and held under a lease (`owner`,
 * `deadline`) that the broker keeps extending while the message is held. A consumer that dies stops
 * extending; its messages become claimable once their deadline passes and are marked redelivered.
 * See the README for the document layout and how consumers wait (change stream or back-off poll).
 *
 * The constructor does no I/O. A `MongoClient` passed in is used as it is and never closed.
 */
export class MongoBroker implements Broker {
  readonly capabilities: BrokerCapabilities = CAPABILITIES;
  readonly #connection: MongoConnection;
  readonly #options: ResolvedBrokerOptions;
  readonly #logger: Logger;
  readonly #owner = `${hostname()}:${process.pid}:${randomUUID()}`;
  readonly #collection: Collection<MessageDocument>;
  readonly #localKey: string;
  readonly #watcher: ChangeWatcher;
  readonly #broadcasts: BroadcastRegistry;
  readonly #inserts: InsertBatcher;
  readonly #consumers = new Set<Consumer>();
  readonly #held = new Set<MongoDelivery>();
  /** Acks, rejects and requeues under way: close() lets them reach MongoDB before closing the client. */
  readonly #settling = new Set<Promise<unknown>>();
  /** Publishes under way, which close() lets finish too. */
  readonly #publishing = new Set<Promise<void>>();
  #ready: Promise<void> | undefined;
  #keeper: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: MongoBrokerOptions) {
    this.#options = resolveBrokerOptions(options);
    this.#logger = this.#options.logger;
    this.#connection = new MongoConnection(options, DEFAULT_BROKER_DATABASE, "tq-broker");
    const { db } = this.#connection;
    this.#collection = db.collection<MessageDocument>(this.#options.collection);
    this.#localKey = `${db.databaseName}/${this.#options.collection}`;
    this.#inserts = new InsertBatcher(this.#collection);
    this.#watcher = new ChangeWatcher(
      this.#collection as unknown as Collection,
      WAKE_PIPELINE,
      this.#logger,
      this.#options.disableChangeStreams,
    );
    this.#broadcasts = new BroadcastRegistry(
      db.collection<SubscriberDocument>(`${this.#options.collection}.broadcast`),
      this.#collection,
      this.#options.broadcastTtlMs,
      this.#logger,
    );
  }

  /** The `MongoClient` in use (created by the broker unless one was passed in). */
  get client(): MongoConnection["client"] {
    return this.#connection.client;
  }

  /** Connects and creates the indexes (once). Safe to call more than once. */
  async connect(options: { signal?: AbortSignal } = {}): Promise<void> {
    this.#assertOpen();
    await this.#connection.connect(options.signal);
    await this.#prepare();
  }

  /**
   * Cancels consumers, makes unsettled deliveries ready again (they count as redelivered), and closes
   * the client if the broker created it.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#consumers].map((consumer) => consumer.cancel()));
    this.#consumers.clear();
    if (this.#keeper) clearInterval(this.#keeper);
    this.#keeper = undefined;
    // A settle sent just before close() would otherwise fail on the closed client: an ack lost that
    // way brings the message back after its lease, to run twice. Publishes under way finish too (those
    // waiting for the end of the turn go out now), or they would fail on the closed client.
    await Promise.allSettled([...this.#settling, ...this.#publishing, this.#inserts.drain()]);
    const held = [...this.#held];
    const putBack = await Promise.allSettled(held.map((delivery) => delivery.putBack()));
    for (const outcome of putBack) {
      if (outcome.status === "rejected") {
        this.#logger.warn("cannot put back a message on close; it comes back after its lease", {
          error: outcome.reason,
        });
      }
    }
    await this.#watcher.close();
    await this.#connection.close();
  }

  /**
   * Inserts the message; `deliverAt` sets when it becomes visible. The publishes of one event-loop
   * turn go out together as one `insertMany` (see {@link InsertBatcher}); each resolves or rejects for
   * its own document (`TQ_MONGO` with the driver's `WriteError` as `cause` for a document the server
   * refused, e.g. a duplicate key of a unique index).
   */
  async publish(
    message: TransportMessage,
    target: PublishTarget,
    options: PublishOptions = {},
  ): Promise<void> {
    this.#assertOpen();
    if (options.signal?.aborted) {
      throw new TqError("TQ_ABORTED", "publishing was aborted", { component: COMPONENT });
    }
    const queue = queueOf(target);
    const visibleAt = options.deliverAt ?? new Date();
    if (Number.isNaN(visibleAt.getTime())) throw configError("deliverAt is an invalid Date");
    const published = this.#insert(message, queue, visibleAt, options.signal);
    // close() lets publishes under way finish before it closes the client.
    this.#publishing.add(published);
    const done = () => this.#publishing.delete(published);
    published.then(done, done);
    await published;
    notifyLocal(this.#localKey, options.deliverAt);
  }

  async #insert(
    message: TransportMessage,
    queue: string,
    visibleAt: Date,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    await this.#prepare();
    const document: MessageDocument = {
      _id: new ObjectId(),
      queue,
      priority: priorityOf(message),
      visibleAt,
      owner: null,
      deadline: null,
      deliveries: 0,
      payload: encodePayload(message),
    };
    await this.#inserts.insert(document, signal);
  }

  /** Starts a consumer of the queues. */
  async consume(
    queues: readonly string[],
    handler: DeliveryHandler,
    options: ConsumeOptions,
  ): Promise<Consumer> {
    this.#assertOpen();
    if (!Number.isInteger(options.prefetch) || options.prefetch < 1) {
      throw configError(`prefetch must be an integer ≥ 1, got ${options.prefetch}`);
    }
    if (queues.length === 0) throw configError("consume needs at least one queue");
    await this.connect({ ...(options.signal ? { signal: options.signal } : {}) });
    const consumer = new MongoConsumer(
      {
        collection: this.#collection,
        owner: this.#owner,
        deadLetterQueue: this.#options.deadLetterQueue,
        visibilityTimeoutMs: this.#options.visibilityTimeoutMs,
        pollIntervalMs: this.#options.pollIntervalMs,
        maxPollIntervalMs: this.#options.maxPollIntervalMs,
        localKey: this.#localKey,
        watcher: this.#watcher,
        held: this.#held,
        logger: this.#logger,
        released: (delivery) => {
          this.#held.delete(delivery);
        },
        settling: (operation) => {
          this.#settling.add(operation);
          const done = () => this.#settling.delete(operation);
          operation.then(done, done);
        },
        lostLease: (delivery, action) => {
          this.#logger.warn(`cannot ${action}: the message's lease ran out and another consumer took it`, {
            "tq.queue": delivery.queue,
            "tq.task_id": delivery.message.headers.id,
          });
        },
      },
      queues,
      handler,
      options.prefetch,
    );
    const handle: Consumer = {
      cancel: async () => {
        this.#consumers.delete(handle);
        await consumer.cancel();
      },
    };
    this.#consumers.add(handle);
    options.signal?.addEventListener("abort", () => void handle.cancel(), { once: true });
    consumer.start();
    this.#startKeeper();
    return handle;
  }

  /** Deletes the messages of a queue that no consumer holds (delayed ones included); resolves to how many. */
  async purge(queue: string): Promise<number> {
    this.#assertOpen();
    await this.#prepare();
    const now = new Date();
    const result = await command("purge a queue", () =>
      this.#collection.deleteMany({ queue, $or: [{ owner: null }, { deadline: { $lt: now } }] }),
    );
    return result.deletedCount;
  }

  /** Messages of a queue a consumer could take now: visible, and not held under a live lease. */
  async queueLength(queue: string): Promise<number> {
    this.#assertOpen();
    await this.#prepare();
    return countReady(this.#collection, queue);
  }

  /** Inserts a copy of the message for every subscriber of the exchange. */
  async broadcast(exchange: string, message: TransportMessage, _options?: BroadcastOptions): Promise<void> {
    this.#assertOpen();
    await this.#prepare();
    const queues = await this.#broadcasts.broadcast(exchange, message);
    if (queues.length > 0) notifyLocal(this.#localKey);
  }

  /** Subscribes to an exchange's broadcasts, through a private queue (see {@link BroadcastRegistry}). */
  async subscribeBroadcast(exchange: string, handler: BroadcastHandler): Promise<Consumer> {
    this.#assertOpen();
    await this.connect();
    const subscription = await this.#broadcasts.subscribe(exchange, handler, (queue, onMessage) =>
      this.consume(
        [queue],
        async (delivery) => {
          // At most once, like kombu's fanout: acknowledged before the handler runs.
          await delivery.ack();
          await onMessage(delivery.message);
        },
        { prefetch: 16 },
      ),
    );
    const handle: Consumer = {
      cancel: async () => {
        this.#consumers.delete(handle);
        await subscription.cancel();
      },
    };
    this.#consumers.add(handle);
    return handle;
  }

  #prepare(): Promise<void> {
    if (!this.#ready) {
      const attempt = command("create the broker's indexes", async () => {
        await this.#collection.createIndexes([
          { key: { queue: 1, priority: -1, visibleAt: 1 }, name: "tq_claim" },
          { key: { expiresAt: 1 }, name: "tq_expires_at", expireAfterSeconds: 0 },
        ]);
        await this.#connection.db.collection(`${this.#options.collection}.broadcast`).createIndexes([
          { key: { exchange: 1 }, name: "tq_exchange" },
          { key: { expiresAt: 1 }, name: "tq_expires_at", expireAfterSeconds: 0 },
        ]);
      });
      this.#ready = attempt;
      attempt.catch(() => {
        if (this.#ready === attempt) this.#ready = undefined;
      });
    }
    return this.#ready;
  }

  /** Extends the leases of every held message, every `visibilityRefreshIntervalMs`. */
  #startKeeper(): void {
    if (this.#keeper) return;
    this.#keeper = setInterval(() => void this.#extendHeld(), this.#options.visibilityRefreshIntervalMs);
    this.#keeper.unref();
  }

  async #extendHeld(): Promise<void> {
    const deadline = Date.now() + this.#options.visibilityTimeoutMs;
    // A delivery extended further by extendVisibility() keeps its longer deadline.
    const ids = [...this.#held].filter((delivery) => delivery.extendedUntil <= deadline).map((d) => d.id);
    if (ids.length === 0) return;
    try {
      await this.#collection.updateMany(
        { _id: { $in: ids }, owner: this.#owner },
        { $set: { deadline: new Date(deadline) } },
      );
    } catch (error) {
      this.#logger.warn("cannot extend the leases of held messages; retrying", { error });
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw closedError("broker");
  }
}

/** Creates a {@link MongoBroker}; no I/O until it is used or `connect()`ed. */
export function mongoBroker(options: MongoBrokerOptions): MongoBroker {
  return new MongoBroker(options);
}

/** The ready messages of a queue: visible now and not held under a live lease. */
export async function countReady(collection: Collection<MessageDocument>, queue: string): Promise<number> {
  const now = new Date();
  const [row] = await command("count a queue", () =>
    collection
      .aggregate<{ n: number }>([
        {
          $match: { queue, visibleAt: { $lte: now }, $or: [{ owner: null }, { deadline: { $lt: now } }] },
        },
        { $count: "n" },
      ])
      .toArray(),
  );
  return row?.n ?? 0;
}

function queueOf(target: PublishTarget): string {
  // Celery publishes tasks to the default exchange with the queue as routing key; MongoDB has no
  // exchanges, so a named direct exchange routes by its routing key too (kombu's direct exchange).
  const queue = target.routingKey || target.exchange;
  if (!queue) throw configError("publish needs a routing key (the queue name)");
  return queue;
}
