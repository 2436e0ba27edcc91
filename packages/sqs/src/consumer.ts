import { type Message, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { Consumer, DeliveryHandler, Logger } from "@tq/core";
import { MAX_VISIBILITY_TIMEOUT_S } from "./broker-options.js";
import { DELIVER_AT_ATTRIBUTE } from "./publisher.js";
import { isMissingQueue, type QueueDirectory, type QueueInfo } from "./queues.js";
import type { Receipts } from "./receipts.js";
import { type DeliveryHost, earlyByMs, SqsDelivery } from "./sqs-delivery.js";

/** What a consumer shares with its broker. */
export interface ConsumerContext {
  readonly client: SQSClient;
  readonly queues: QueueDirectory;
  readonly receipts: Receipts;
  /** Every unsettled delivery of the broker, for the visibility keeper and close(). */
  readonly held: Set<SqsDelivery>;
  readonly visibilityTimeoutMs: number;
  readonly waitTimeSeconds: number;
  /** Most receives under way at once per queue while it has messages. */
  readonly receiveConcurrency: number;
  readonly logger: Logger;
}

/** A consumed queue and the receives under way on it. */
interface QueueState {
  info: QueueInfo;
  /** Receives under way. */
  receiving: number;
  /** Prefetch slots those receives reserved. */
  reserved: number;
  /** The last receive that came back brought messages: more than one receive may run at once. */
  busy: boolean;
  failures: number;
  /** Backing off after a failed receive: none is started until the pause ends. */
  retrying: boolean;
}

const MAX_MESSAGES = 10;
const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 10_000;

/**
 * Long-polls each of its queues (`ReceiveMessage`, up to 10 messages a call) while it holds fewer
 * than `prefetch` unsettled deliveries. Every receive reserves the prefetch slots it asks for before
 * it is sent and gives back those it did not fill when it returns, so deliveries held plus slots
 * reserved never exceed `prefetch`.
 *
 * Each queue has one receive under way whenever there is room. While a queue delivers (its last
 * receive brought messages) it gets more, up to `receiveConcurrency`, each only with room for a full
 * batch (10, or the queue's share when that is smaller): so about ceil(room / 10) receives run at
 * once, a slot freed by an ack does not start a receive for one message, and an idle queue parks a
 * single long poll (one socket) as before. Queues take turns: first every queue without a receive
 * gets one, then the busy ones get more; no queue reserves more than its share,
 * ceil(prefetch / queues), so with prefetch ≥ queues every queue is polled at once.
 *
 * A long poll is never cut short: a request SQS still holds would take messages nobody reads, and they
 * would stay invisible for the visibility timeout. `cancel()` waits for polls under way (at most
 * `waitTimeSeconds`; they run side by side) and makes what they bring visible again at once.
 */
export class SqsConsumer implements Consumer, DeliveryHost {
  readonly #context: ConsumerContext;
  readonly #queueNames: readonly string[];
  readonly #handler: DeliveryHandler;
  readonly #prefetch: number;
  /** The most prefetch slots one queue's receives may reserve at once. */
  readonly #share: number;
  /** Slots a receive beyond a queue's first needs: a full batch. */
  readonly #fullBatch: number;
  readonly #held = new Set<SqsDelivery>();
  readonly #stopWaiters = new Set<() => void>();
  /** Receives and retry pauses under way, which cancel() waits for. */
  readonly #tasks = new Set<Promise<void>>();
  #queues: QueueState[] = [];
  /** The queue whose turn comes first in the next round. */
  #turn = 0;
  #reserved = 0;
  #active = true;
  #cancelled: Promise<void> | undefined;

  constructor(
    context: ConsumerContext,
    queues: readonly string[],
    handler: DeliveryHandler,
    prefetch: number,
  ) {
    this.#context = context;
    this.#queueNames = queues;
    this.#handler = handler;
    this.#prefetch = prefetch;
    this.#share = Math.max(1, Math.ceil(prefetch / queues.length));
    this.#fullBatch = Math.min(MAX_MESSAGES, this.#share);
  }

  get receipts(): Receipts {
    return this.#context.receipts;
  }

  get visibilityTimeoutMs(): number {
    return this.#context.visibilityTimeoutMs;
  }

  /** Finds (or creates) the queues, then starts receiving. */
  async start(): Promise<void> {
    const infos = await Promise.all(this.#queueNames.map((queue) => this.#context.queues.get(queue)));
    this.#queues = infos.map((info) => ({
      info,
      receiving: 0,
      reserved: 0,
      busy: false,
      failures: 0,
      retrying: false,
    }));
    this.#fill();
  }

  /** Stops receiving; waits for long polls under way. Held deliveries stay valid. */
  cancel(): Promise<void> {
    if (this.#cancelled) return this.#cancelled;
    this.#active = false;
    for (const wake of [...this.#stopWaiters]) wake();
    this.#cancelled = this.#drain();
    return this.#cancelled;
  }

  /** DeliveryHost: a delivery stopped being held. */
  released(delivery: SqsDelivery): void {
    if (!this.#held.delete(delivery)) return;
    this.#context.held.delete(delivery);
    this.#fill();
  }

  async #drain(): Promise<void> {
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
  }

  // Starts the receives there is room for: first one for each queue that has none, then more for
  // queues that deliver, a round at a time (at most one receive per queue each) from the queue whose
  // turn it is. Room only shrinks here, so one round of first receives is enough.
  #fill(): void {
    if (!this.#active) return;
    this.#round(false);
    while (this.#round(true)) {
      // one more round while one started something
    }
  }

  #round(extra: boolean): boolean {
    const count = this.#queues.length;
    let started = false;
    for (let step = 0; step < count; step++) {
      const index = (this.#turn + step) % count;
      const queue = this.#queues[index];
      if (!queue || !this.#mayStart(queue, extra)) continue;
      const room = Math.min(
        MAX_MESSAGES,
        this.#prefetch - this.#held.size - this.#reserved,
        this.#share - queue.reserved,
      );
      if (room < (extra ? this.#fullBatch : 1)) continue;
      this.#startReceive(queue, room);
      this.#turn = (index + 1) % count;
      started = true;
    }
    return started;
  }

  #mayStart(queue: QueueState, extra: boolean): boolean {
    if (queue.retrying) return false;
    if (!extra) return queue.receiving === 0;
    return queue.busy && queue.receiving > 0 && queue.receiving < this.#context.receiveConcurrency;
  }

  #startReceive(queue: QueueState, want: number): void {
    queue.receiving++;
    queue.reserved += want;
    this.#reserved += want;
    const task = this.#receive(queue.info, want)
      .then(
        (messages) => this.#received(queue, want, messages),
        (error: unknown) => this.#failed(queue, want, error),
      )
      .catch((error: unknown) =>
        this.#context.logger.error("the SQS consumer failed to handle a receive", {
          "tq.queue": queue.info.name,
          error,
        }),
      )
      .finally(() => this.#tasks.delete(task));
    this.#tasks.add(task);
  }

  #receive(info: QueueInfo, max: number): Promise<Message[]> {
    const { client, visibilityTimeoutMs, waitTimeSeconds } = this.#context;
    return client
      .send(
        new ReceiveMessageCommand({
          QueueUrl: info.url,
          MaxNumberOfMessages: max,
          WaitTimeSeconds: waitTimeSeconds,
          VisibilityTimeout: Math.ceil(visibilityTimeoutMs / 1000),
          MessageSystemAttributeNames: ["ApproximateReceiveCount", "SentTimestamp", "MessageGroupId"],
          MessageAttributeNames: [DELIVER_AT_ATTRIBUTE],
        }),
      )
      .then((reply) => reply.Messages ?? []);
  }

  #received(queue: QueueState, want: number, messages: Message[]): void {
    queue.failures = 0;
    queue.busy = messages.length > 0;
    const receivedAt = Date.now();
    try {
      // The reservation is given back only once the messages are held, so that a handler settling one
      // at once cannot let another receive take the same room.
      for (const message of messages) this.#take(queue.info, message, receivedAt);
    } finally {
      this.#endReceive(queue, want);
      this.#fill();
    }
  }

  #failed(queue: QueueState, want: number, error: unknown): void {
    this.#endReceive(queue, want);
    queue.busy = false;
    if (this.#active && !queue.retrying) {
      // Other receives of the queue that fail during the pause share it.
      queue.retrying = true;
      queue.failures++;
      this.#context.logger.warn("could not receive from SQS; trying again", {
        "tq.queue": queue.info.name,
        error,
      });
      const task = this.#retryLater(queue, error).finally(() => this.#tasks.delete(task));
      this.#tasks.add(task);
    }
    this.#fill();
  }

  async #retryLater(queue: QueueState, error: unknown): Promise<void> {
    try {
      if (isMissingQueue(error)) {
        // Deleted under us: look it up (and create it) again before the next try.
        const { queues } = this.#context;
        queues.forget(queue.info.name);
        queue.info = await queues.get(queue.info.name).catch(() => queue.info);
      }
      await this.#pause(Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (queue.failures - 1)));
    } finally {
      queue.retrying = false;
      this.#fill();
    }
  }

  #endReceive(queue: QueueState, want: number): void {
    queue.receiving--;
    queue.reserved -= want;
    this.#reserved -= want;
  }

  #take(info: QueueInfo, message: Message, receivedAt: number): void {
    const { receipts, logger, held } = this.#context;
    const handle = message.ReceiptHandle ?? "";
    const early = earlyByMs(message, receivedAt);
    if (!this.#active || early > 0) {
      // Cancelled during the poll, or delayed beyond what DelaySeconds covers: hide it again until
      // due (or show it at once) without handing it to the handler.
      const seconds = this.#active ? Math.min(MAX_VISIBILITY_TIMEOUT_S, Math.ceil(early / 1000)) : 0;
      receipts.changeVisibility(info.url, handle, seconds).catch((error: unknown) =>
        logger.warn("could not hand back a message; it returns after its visibility timeout", {
          "tq.queue": info.name,
          error,
        }),
      );
      return;
    }
    const delivery = new SqsDelivery(this, info, message, receivedAt);
    this.#held.add(delivery);
    held.add(delivery);
    try {
      const result = this.#handler(delivery);
      if (result instanceof Promise)
        result.catch((error: unknown) => logHandlerError(logger, delivery, error));
    } catch (error) {
      logHandlerError(logger, delivery, error);
    }
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#stopWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#stopWaiters.add(done);
    });
  }
}

function logHandlerError(logger: Logger, delivery: SqsDelivery, error: unknown): void {
  logger.error("a delivery handler threw; the consumer goes on", { "tq.queue": delivery.queue, error });
}
