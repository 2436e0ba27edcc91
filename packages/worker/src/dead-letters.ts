import type { Broker, Delivery, Logger } from "@tq/core";

/** Header telling why a message was dead-lettered. */
export const REJECTED_REASON_HEADER = "x-tq-rejected-reason";

/** What became of a rejected message. */
export type DeadLetterOutcome = "dead-lettered" | "dropped" | "requeued";

/**
 * Keeps messages the worker cannot run: each is published unchanged but for the
 * {@link REJECTED_REASON_HEADER} header to its dead-letter queue through the default exchange, then
 * acked. If that publish fails the original is requeued instead, so nothing is lost.
 */
export class DeadLetters {
  readonly #broker: Broker;
  readonly #logger: Logger;
  readonly #queueFor: (queue: string) => string | null;
  readonly #declared = new Map<string, Promise<void>>();

  constructor(broker: Broker, logger: Logger, queueFor: (queue: string) => string | null) {
    this.#broker = broker;
    this.#logger = logger;
    this.#queueFor = queueFor;
  }

  /** The dead-letter queue for messages from `queue`, or null when they are dropped. */
  queueFor(queue: string): string | null {
    return this.#queueFor(queue);
  }

  /** Keeps (or drops) a rejected delivery and settles it. */
  async keep(delivery: Delivery, reason: string): Promise<DeadLetterOutcome> {
    const target = this.#queueFor(delivery.queue);
    if (target === null) {
      await this.#settle(delivery, "ack");
      return "dropped";
    }
    const { message } = delivery;
    try {
      await this.#declare(target);
      await this.#broker.publish(
        { ...message, headers: { ...message.headers, [REJECTED_REASON_HEADER]: reason } },
        { exchange: "", routingKey: target },
      );
    } catch (error) {
      this.#logger.error("could not dead-letter a message; requeued it", {
        "tq.queue": delivery.queue,
        "tq.dead_letter_queue": target,
        error,
      });
      await this.#settle(delivery, "requeue");
      return "requeued";
    }
    await this.#settle(delivery, "ack");
    return "dead-lettered";
  }

  // On AMQP a publish to a queue that does not exist is dropped, so the queue is declared first, once.
  #declare(queue: string): Promise<void> {
    const declareQueues = this.#broker.declareQueues?.bind(this.#broker);
    if (!declareQueues) return Promise.resolve();
    let declared = this.#declared.get(queue);
    if (!declared) {
      declared = declareQueues([{ name: queue, exchange: "" }]);
      declared.catch(() => this.#declared.delete(queue));
      this.#declared.set(queue, declared);
    }
    return declared;
  }

  async #settle(delivery: Delivery, how: "ack" | "requeue"): Promise<void> {
    try {
      await delivery[how]();
    } catch (error) {
      this.#logger.error(`could not ${how} a rejected message`, { "tq.queue": delivery.queue, error });
    }
  }
}
