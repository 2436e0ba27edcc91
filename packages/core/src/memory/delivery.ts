import type { Delivery } from "../broker.js";
import type { TransportMessage } from "../message/types.js";
import type { SettleOutcome } from "./queue.js";

/** A delivery of the memory broker; settling it is forwarded to the server, which enforces "once". */
export class MemoryDelivery implements Delivery {
  readonly message: TransportMessage;
  readonly queue: string;
  readonly redelivered: boolean;
  readonly #settle: (outcome: SettleOutcome) => void;

  constructor(
    message: TransportMessage,
    queue: string,
    redelivered: boolean,
    settle: (outcome: SettleOutcome) => void,
  ) {
    this.message = message;
    this.queue = queue;
    this.redelivered = redelivered;
    this.#settle = settle;
  }

  /** Removes the message for good. Rejects with `TQ_DELIVERY_SETTLED` when already settled. */
  ack(): Promise<void> {
    return this.#run("ack");
  }

  /** Drops the message (the memory broker has no dead-letter queue). */
  reject(): Promise<void> {
    return this.#run("reject");
  }

  /** Puts the message back at its place at the head of its queue, marked redelivered. */
  requeue(): Promise<void> {
    return this.#run("requeue");
  }

  #run(outcome: SettleOutcome): Promise<void> {
    try {
      this.#settle(outcome);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }
}
