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
  readonly logger: Logger;
}

const MAX_MESSAGES = 10;
const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 10_000;

/**
 * Long-polls each of its queues (one `ReceiveMessage` loop per queue, up to 10 messages a call) while
 * it holds fewer than `prefetch` unsettled deliveries. Receive slots are taken in turn, so with fewer
 * slots than queues an idle queue delays the next by at most one long-poll wait.
 *
 * A long poll is never cut short: a request SQS still holds would take messages nobody reads, and they
 * would stay invisible for the visibility timeout. `cancel()` waits for polls under way (at most
 * `waitTimeSeconds`) and makes what they bring visible again at once.
 */
export class SqsConsumer implements Consumer, DeliveryHost {
  readonly #context: ConsumerContext;
  readonly #queueNames: readonly string[];
  readonly #handler: DeliveryHandler;
  readonly #prefetch: number;
  readonly #held = new Set<SqsDelivery>();
  readonly #slotWaiters: ((slots: number) => void)[] = [];
  readonly #stopWaiters = new Set<() => void>();
  #reserved = 0;
  #active = true;
  #loops: Promise<void>[] = [];
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
  }

  get receipts(): Receipts {
    return this.#context.receipts;
  }

  get visibilityTimeoutMs(): number {
    return this.#context.visibilityTimeoutMs;
  }

  /** Finds (or creates) the queues, then starts a receive loop per queue. */
  async start(): Promise<void> {
    const infos = await Promise.all(this.#queueNames.map((queue) => this.#context.queues.get(queue)));
    this.#loops = infos.map((info) => this.#loop(info));
  }

  /** Stops receiving; waits for long polls under way. Held deliveries stay valid. */
  cancel(): Promise<void> {
    if (this.#cancelled) return this.#cancelled;
    this.#active = false;
    this.#grant();
    for (const wake of [...this.#stopWaiters]) wake();
    this.#cancelled = Promise.allSettled(this.#loops).then(() => undefined);
    return this.#cancelled;
  }

  /** DeliveryHost: a delivery stopped being held. */
  released(delivery: SqsDelivery): void {
    if (!this.#held.delete(delivery)) return;
    this.#context.held.delete(delivery);
    this.#grant();
  }

  async #loop(info: QueueInfo): Promise<void> {
    let failures = 0;
    while (this.#active) {
      const want = await this.#reserve();
      if (want === 0) break;
      let messages: Message[];
      try {
        messages = await this.#receive(info, want);
        failures = 0;
      } catch (error) {
        this.#unreserve(want);
        if (isMissingQueue(error)) {
          // Deleted under us: look it up (and create it) again at the next try.
          this.#context.queues.forget(info.name);
          info = await this.#context.queues.get(info.name).catch(() => info);
        }
        failures++;
        this.#context.logger.warn("could not receive from SQS; trying again", {
          "tq.queue": info.name,
          error,
        });
        await this.#pause(Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (failures - 1)));
        continue;
      }
      this.#unreserve(want);
      const receivedAt = Date.now();
      for (const message of messages) this.#take(info, message, receivedAt);
    }
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

  // Waits for free prefetch room and reserves part of it: a fair share per queue (so that with
  // prefetch ≥ queues every queue is polled at once), at most 10. Waiters are served in turn, the
  // slots handed to them directly so that a loop coming round again cannot jump the line. 0 once
  // cancelled.
  #reserve(): Promise<number> {
    return new Promise<number>((resolve) => {
      this.#slotWaiters.push(resolve);
      this.#grant();
    });
  }

  #unreserve(count: number): void {
    this.#reserved -= count;
    this.#grant();
  }

  #grant(): void {
    if (!this.#active) {
      for (const waiter of this.#slotWaiters.splice(0)) waiter(0);
      return;
    }
    const share = Math.max(1, Math.ceil(this.#prefetch / this.#queueNames.length));
    for (;;) {
      const free = this.#prefetch - this.#held.size - this.#reserved;
      if (free <= 0 || this.#slotWaiters.length === 0) return;
      const want = Math.min(MAX_MESSAGES, free, share);
      this.#reserved += want;
      this.#slotWaiters.shift()?.(want);
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
