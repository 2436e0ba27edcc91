import type { Broker, Logger, TransportMessage } from "@tq/core";
import type { EmitWorkerEvent } from "./events.js";
import type { Job } from "./job.js";

// Bookkeeping RabbitMQ adds when it dead-letters a message (its delayed-delivery levels do) or counts
// deliveries (quorum queues). They describe this trip, not the task, so the copy sent back leaves them
// behind rather than accumulate them trip after trip.
const BROKER_HEADERS = /^x-(death|delivery-count|first-death-|last-death-)/;

/** What a {@link Deferrer} works with. */
export interface DeferrerContext {
  readonly broker: Broker;
  readonly logger: Logger;
  readonly emit: EmitWorkerEvent;
  /** Holds a job until its ETA (the fallback when the broker refused the copy). */
  readonly hold: (job: Job) => void;
  /** True once the worker stopped taking jobs: a job held then would never be settled. */
  readonly stopping: () => boolean;
}

/**
 * Hands ETA tasks back to a broker with delayed delivery: publishes the message as it arrived (same
 * id, headers, body, properties, ETA) to the queue it came from, delayed until `deliverAt`, and acks
 * the original only once the broker confirmed the copy, so a failure at any point loses nothing. A
 * crash between the two leaves both: the task id then arrives twice (at-least-once, as any
 * redelivery). If the publish fails, the task is held after all, as a broker without delays would.
 */
export class Deferrer {
  readonly #ctx: DeferrerContext;
  #deferred = 0;

  constructor(ctx: DeferrerContext) {
    this.#ctx = ctx;
  }

  /** Tasks handed back so far. */
  get deferred(): number {
    return this.#deferred;
  }

  /** Hands the job back (or holds it when that fails). Never rejects. */
  async defer(job: Job, deliverAt: Date): Promise<void> {
    const { broker, logger, emit } = this.#ctx;
    const eta = job.message.eta ?? deliverAt;
    try {
      await broker.publish(
        withoutBrokerHeaders(job.delivery.message),
        { exchange: "", routingKey: job.queue },
        { deliverAt },
      );
    } catch (error) {
      logger.error("could not hand an ETA task back to the broker; holding it instead", {
        ...job.attributes(),
        error,
      });
      if (this.#ctx.stopping()) {
        await job.settle("requeue");
        return;
      }
      emit("task-received", job.info());
      this.#ctx.hold(job);
      return;
    }
    // If this ack fails the broker hands the original out again: a duplicate, never a loss.
    await job.settle("ack");
    this.#deferred += 1;
    logger.debug("ETA task handed back to the broker", {
      ...job.attributes(),
      "tq.eta": eta.toISOString(),
      "tq.deliver_at": deliverAt.toISOString(),
    });
    emit("task-deferred", { ...job.info(), eta, deliverAt });
  }
}

function withoutBrokerHeaders(message: TransportMessage): TransportMessage {
  if (!Object.keys(message.headers).some((key) => BROKER_HEADERS.test(key))) return message;
  const headers = Object.fromEntries(
    Object.entries(message.headers).filter(([key]) => !BROKER_HEADERS.test(key)),
  );
  return { ...message, headers };
}
