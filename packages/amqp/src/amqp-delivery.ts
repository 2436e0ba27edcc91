import { type Delivery, type Logger, TqError, type TransportMessage } from "@tq/core";
import type { Message } from "amqplib";
import type { AckBatcher } from "./ack-batcher.js";
import { fromAmqpMessage } from "./message-codec.js";

/** The consumer channel a delivery came on, as the delivery sees it. */
export interface DeliverySession {
  /** Writes the settlements on the channel, the acks of one event-loop turn coalesced. */
  readonly acks: AckBatcher;
  readonly logger: Logger;
  /** False once the channel closed: RabbitMQ has put its unsettled messages back. */
  isOpen(): boolean;
  /** Called once when the delivery is settled, so the consumer can close a cancelled channel. */
  released(): void;
}

type Outcome = "ack" | "reject" | "requeue";

const settledOk = Promise.resolve();

/**
 * A message delivered on a consumer's channel, settled exactly once with `basic.ack`, or
 * `basic.nack` without requeue (reject: RabbitMQ dead-letters it when the queue has a dead-letter
 * exchange, else drops it) or with requeue (RabbitMQ puts it back, marked `redelivered`).
 *
 * Once its channel is gone (lost connection, broker closed, channel error) a delivery can no longer
 * be settled: RabbitMQ already put the message back and will deliver it again, marked redelivered.
 * Settling such a delivery resolves without effect and logs at debug, so a worker finishing a task
 * across a reconnect does not fail; settling twice rejects with `TQ_DELIVERY_SETTLED`.
 *
 * Acks are coalesced per channel ({@link AckBatcher}): `ack()` resolves at the end of the event-loop
 * turn, once its frame (maybe a `multiple` ack shared with others) was written. Reject and requeue
 * are written at once, after the channel's pending acks.
 */
export class AmqpDelivery implements Delivery {
  readonly message: TransportMessage;
  readonly queue: string;
  readonly redelivered: boolean;
  /** Exchange from `basic.deliver`. */
  readonly exchange: string;
  /** Routing key from `basic.deliver`. */
  readonly routingKey: string;
  readonly #raw: Message;
  readonly #session: DeliverySession;
  #settled: Outcome | undefined;

  constructor(session: DeliverySession, queue: string, raw: Message) {
    this.#session = session;
    this.#raw = raw;
    this.queue = queue;
    this.redelivered = raw.fields.redelivered;
    this.exchange = raw.fields.exchange;
    this.routingKey = raw.fields.routingKey;
    this.message = fromAmqpMessage(raw);
  }

  /** Removes the message for good (`basic.ack`). */
  ack(): Promise<void> {
    return this.#settle("ack");
  }

  /** Drops the message, or dead-letters it where the queue has a dead-letter exchange (`basic.nack`, no requeue). */
  reject(): Promise<void> {
    return this.#settle("reject");
  }

  /** Puts the message back in its queue, marked redelivered (`basic.nack` with requeue). */
  requeue(): Promise<void> {
    return this.#settle("requeue");
  }

  #settle(outcome: Outcome): Promise<void> {
    if (this.#settled !== undefined) {
      return Promise.reject(
        new TqError("TQ_DELIVERY_SETTLED", `this delivery was already settled (${this.#settled})`, {
          component: "amqp",
        }),
      );
    }
    this.#settled = outcome;
    const session = this.#session;
    if (!session.isOpen()) {
      this.#gone(outcome);
    } else if (outcome === "ack") {
      // amqplib writes settlements without waiting for a reply: the promise resolves once written.
      return session.acks.ack(this.#raw, (written) => {
        if (!written) this.#gone(outcome);
        session.released();
      });
    } else {
      try {
        session.acks.nack(this.#raw, outcome === "requeue");
      } catch {
        // The channel closed between the check and the write.
        this.#gone(outcome);
      }
    }
    session.released();
    return settledOk;
  }

  #gone(outcome: Outcome): void {
    this.#session.logger.debug(
      `cannot ${outcome} a delivery whose channel closed; RabbitMQ already requeued it and will deliver it again`,
      { "tq.queue": this.queue, "tq.task_id": this.message.headers.id },
    );
  }
}
