/** What the worker does with a task message as it arrives. */
export type EtaDecision =
  /** Due (or no ETA): queue it for a run slot. */
  | { kind: "queue" }
  /** Hold it in memory, unacked, until its ETA. */
  | { kind: "hold" }
  /** Hand it back to the broker, to be delivered again at `deliverAt`. */
  | { kind: "defer"; deliverAt: Date };

/** How an {@link EtaGate} decides. */
export interface EtaGateOptions {
  /** The broker can delay a message itself (`capabilities.delayedDelivery`). */
  readonly delayedDelivery: boolean;
  /** The most ETA messages held at once (already capped by the prefetch window). */
  readonly capacity: number;
  /** Only ETAs due within this many ms are held. */
  readonly horizonMs: number;
}

/**
 * Decides whether an ETA task is held by the worker or waits in the broker.
 *
 * With a broker that can delay messages, the worker holds an ETA task only when it is due within the
 * horizon and fewer than `capacity` are held; any other is handed back. One due beyond the horizon is
 * delayed until half a horizon before its ETA, so that it comes back early enough to be held and run
 * on time (the broker's own granularity — whole seconds on RabbitMQ — does not make it late); one
 * refused for lack of room is delayed until its ETA, when it comes back due. Without delayed delivery
 * there is nowhere to hand a message back to (requeueing it would only bring it straight back), so
 * every ETA task is held, as Celery holds them, within the consumer's prefetch.
 */
export class EtaGate {
  readonly #options: EtaGateOptions;

  constructor(options: EtaGateOptions) {
    this.#options = options;
  }

  /** The most ETA tasks held at once; Infinity without delayed delivery (the prefetch bounds them). */
  get capacity(): number {
    return this.#options.delayedDelivery ? this.#options.capacity : Number.POSITIVE_INFINITY;
  }

  /** Decides for a message with this ETA, given how many are held now. */
  decide(eta: Date | null, held: number, now = Date.now()): EtaDecision {
    if (eta === null || eta.getTime() <= now) return { kind: "queue" };
    if (!this.#options.delayedDelivery) return { kind: "hold" };
    const { capacity, horizonMs } = this.#options;
    const delayMs = eta.getTime() - now;
    if (delayMs > horizonMs) return { kind: "defer", deliverAt: new Date(eta.getTime() - horizonMs / 2) };
    if (held < capacity) return { kind: "hold" };
    return { kind: "defer", deliverAt: eta };
  }
}
