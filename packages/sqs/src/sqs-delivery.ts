import type { Message } from "@aws-sdk/client-sqs";
import type { Delivery, TransportMessage } from "@tq/core";
import { MAX_VISIBILITY_TIMEOUT_S } from "./broker-options.js";
import { decodeMessageBody } from "./codec.js";
import { sqsError } from "./errors.js";
import { DELIVER_AT_ATTRIBUTE, MAX_DELAY_SECONDS } from "./publisher.js";
import type { QueueInfo } from "./queues.js";
import type { Receipts } from "./receipts.js";

/** What a delivery needs from its broker. */
export interface DeliveryHost {
  readonly receipts: Receipts;
  readonly visibilityTimeoutMs: number;
  /** Called once when the delivery stops being held (settled, or put back by close). */
  released(delivery: SqsDelivery): void;
}

type State = "held" | "settled" | "closed";

/**
 * A received SQS message. Its receipt handle is the ack token (kombu puts it in `delivery_tag`);
 * `deadline` is when SQS makes it visible to others unless it is extended first.
 */
export class SqsDelivery implements Delivery {
  readonly message: TransportMessage;
  readonly queue: string;
  readonly redelivered: boolean;
  readonly info: QueueInfo;
  readonly receiptHandle: string;
  /** Epoch ms when SQS hands the message to someone else unless extended. */
  deadline: number;
  readonly #host: DeliveryHost;
  #state: State = "held";

  constructor(host: DeliveryHost, info: QueueInfo, received: Message, receivedAt: number) {
    this.#host = host;
    this.info = info;
    this.queue = info.name;
    this.receiptHandle = received.ReceiptHandle ?? "";
    this.deadline = receivedAt + host.visibilityTimeoutMs;
    this.message = decodeMessageBody(received.Body ?? "").message;
    this.redelivered = receiveCount(received) > 1 + delayHops(received);
  }

  /** True until settled or put back. */
  get held(): boolean {
    return this.#state === "held";
  }

  /** DeleteMessage. */
  ack(): Promise<void> {
    return this.#settle("ack", () => this.#host.receipts.delete(this.info.url, this.receiptHandle));
  }

  /**
   * DeleteMessage too: the worker has already moved the message to its dead-letter queue when it is
   * configured to. (SQS's own redrive moves messages received `maxReceiveCount` times, i.e. those of
   * consumers that crashed or requeued them.)
   */
  reject(): Promise<void> {
    return this.#settle("reject", () => this.#host.receipts.delete(this.info.url, this.receiptHandle));
  }

  /** ChangeMessageVisibility to 0: SQS hands it out again at once (kombu's requeue). */
  requeue(): Promise<void> {
    return this.#settle("requeue", () =>
      this.#host.receipts.changeVisibility(this.info.url, this.receiptHandle, 0),
    );
  }

  /** Keeps the message invisible for at least `ms` more milliseconds (at most 12 h per receive). */
  async extendVisibility(ms: number): Promise<void> {
    if (this.#state !== "held") throw this.#settledError();
    if (!Number.isFinite(ms) || ms < 0) {
      throw sqsError("TQ_CONFIG", `extendVisibility needs a number of ms ≥ 0, got ${ms}`);
    }
    const now = Date.now();
    const seconds = Math.min(
      MAX_VISIBILITY_TIMEOUT_S,
      Math.max(Math.ceil(ms / 1000), Math.ceil((this.deadline - now) / 1000)),
    );
    await this.#host.receipts.changeVisibility(this.info.url, this.receiptHandle, seconds);
    this.deadline = Math.max(this.deadline, now + seconds * 1000);
  }

  /** For the visibility keeper: the deadline after a successful extension. */
  extended(seconds: number, at: number): void {
    this.deadline = Math.max(this.deadline, at + seconds * 1000);
  }

  /** For close(): makes an unsettled message visible again at once; settling it later rejects with TQ_CLOSED. */
  async putBack(): Promise<void> {
    if (this.#state !== "held") return;
    this.#state = "closed";
    this.#host.released(this);
    await this.#host.receipts.changeVisibility(this.info.url, this.receiptHandle, 0);
  }

  async #settle(action: string, operation: () => Promise<void>): Promise<void> {
    if (this.#state !== "held") throw this.#settledError();
    this.#state = "settled";
    // Released first even if SQS fails: an unsettled message comes back after its visibility timeout.
    this.#host.released(this);
    try {
      await operation();
    } catch (cause) {
      throw sqsError("TQ_CONNECTION", `cannot ${action} a message of queue "${this.queue}"`, cause);
    }
  }

  #settledError(): Error {
    return this.#state === "closed"
      ? sqsError("TQ_CLOSED", "the broker was closed and made this message visible again")
      : sqsError("TQ_DELIVERY_SETTLED", "this delivery was already settled");
  }
}

function receiveCount(message: Message): number {
  return Number(message.Attributes?.ApproximateReceiveCount ?? 1);
}

/** When a message is still early (`tq-deliver-at` in the future), how many ms are left; else 0. */
export function earlyByMs(message: Message, now: number): number {
  const at = Number(message.MessageAttributes?.[DELIVER_AT_ATTRIBUTE]?.StringValue);
  return Number.isFinite(at) && at > now ? at - now : 0;
}

// Receives a delayed message took before it was due (each hidden again, not delivered), so that they
// do not count as redeliveries: the first after DelaySeconds (none on FIFO), then one per 12 hours.
function delayHops(message: Message): number {
  const at = Number(message.MessageAttributes?.[DELIVER_AT_ATTRIBUTE]?.StringValue);
  const sent = Number(message.Attributes?.SentTimestamp);
  if (!Number.isFinite(at) || !Number.isFinite(sent)) return 0;
  const fifo = message.Attributes?.MessageGroupId !== undefined;
  const firstReceive = sent + (fifo ? 0 : MAX_DELAY_SECONDS * 1000);
  if (at <= firstReceive) return 0;
  return 1 + Math.floor((at - firstReceive) / (MAX_VISIBILITY_TIMEOUT_S * 1000));
}
