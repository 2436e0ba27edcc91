import type { DeliveryHandler } from "../broker.js";
import type { Logger } from "../logger.js";
import type { TransportMessage } from "../message/types.js";
import { Heap } from "./heap.js";

/** A message waiting in a queue. */
export interface QueuedMessage {
  /** The broker's own copy; every delivery hands out a fresh clone of it. */
  readonly message: TransportMessage;
  /** Effective priority: higher is served first, as in AMQP. */
  readonly priority: number;
  /** Arrival order; a requeued message keeps its number and so its place ahead of later ones. */
  readonly seq: number;
  /** True once it was delivered and not acknowledged. */
  redelivered: boolean;
}

/** How an in-flight delivery ended; `close` means its broker instance closed and requeued it. */
export type SettleOutcome = "ack" | "reject" | "requeue" | "close";

/** A delivery handed to a consumer and not settled yet. */
export interface InFlight {
  readonly entry: QueuedMessage;
  readonly queue: MemoryQueue;
  readonly consumer: ConsumerState;
  settledBy: SettleOutcome | undefined;
}

/** A consumer as the server sees it. */
export interface ConsumerState {
  readonly queues: readonly MemoryQueue[];
  readonly prefetch: number;
  readonly handler: DeliveryHandler;
  readonly logger: Logger;
  /** Deliveries of this consumer not settled yet; its size is checked against `prefetch`. */
  readonly unsettled: Set<InFlight>;
  /** Unsettled deliveries of every consumer of the same broker instance, requeued when it closes. */
  readonly brokerFlights: Set<InFlight>;
  active: boolean;
}

const servedBefore = (a: QueuedMessage, b: QueuedMessage): boolean =>
  a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq);

/** One queue of a memory server: ready messages, deliveries in flight and consumers. */
export class MemoryQueue {
  readonly name: string;
  /** Priorities above it count as it (`x-max-priority`); undefined leaves them unbounded. */
  maxPriority: number | undefined;
  readonly ready = new Heap<QueuedMessage>(servedBefore);
  readonly inFlight = new Set<InFlight>();
  readonly consumers: ConsumerState[] = [];
  #cursor = 0;

  constructor(name: string) {
    this.name = name;
  }

  /** Adds a newly routed message. */
  enqueue(message: TransportMessage, seq: number): void {
    this.ready.push({ message, priority: this.#priorityOf(message), seq, redelivered: false });
  }

  /** The next consumer with room under its prefetch, round-robin, or undefined when all are full. */
  nextConsumer(): ConsumerState | undefined {
    const count = this.consumers.length;
    for (let step = 0; step < count; step++) {
      const index = (this.#cursor + step) % count;
      const consumer = this.consumers[index]!;
      if (consumer.unsettled.size < consumer.prefetch) {
        this.#cursor = (index + 1) % count;
        return consumer;
      }
    }
    return undefined;
  }

  #priorityOf(message: TransportMessage): number {
    const raw = message.properties.priority;
    const priority = typeof raw === "number" && Number.isFinite(raw) ? raw : 0;
    return this.maxPriority === undefined ? priority : Math.min(priority, this.maxPriority);
  }
}
