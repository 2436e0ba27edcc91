import { Buffer } from "node:buffer";
import { type Delivery, decodeEnvelope, TqError, type TransportMessage } from "@tq/core";
import type { KeyLayout } from "./keys.js";
import type { BrokerScripts } from "./lua/commands.js";
import { markRedelivered } from "./restore.js";
import type { VisibilityKeeper } from "./visibility.js";

/** What a delivery needs from its broker. */
export interface DeliveryHost {
  readonly scripts: BrokerScripts;
  readonly keys: KeyLayout;
  readonly visibility: VisibilityKeeper;
  /** Called once when the delivery stops being held (settled, or put back by close). */
  released(delivery: RedisDelivery): void;
}

type State = "held" | "settled" | "closed";

/**
 * A message a consumer holds: popped from its list and recorded in `unacked`/`unacked_index` under
 * `tag` by the fetch script. Settling it removes that record (and, for requeue, pushes the message
 * back), exactly once.
 */
export class RedisDelivery implements Delivery {
  readonly message: TransportMessage;
  readonly queue: string;
  readonly redelivered: boolean;
  /** Exchange from kombu's `delivery_info` (`""` when the envelope has none). */
  readonly exchange: string;
  /** Routing key from kombu's `delivery_info` (the queue name when the envelope has none). */
  readonly routingKey: string;
  /** The tag it is recorded under in `unacked`. */
  readonly tag: string;
  /** The envelope exactly as it was stored. */
  readonly payload: string;
  readonly #host: DeliveryHost;
  #state: State = "held";

  constructor(host: DeliveryHost, queue: string, tag: string, payload: string) {
    this.#host = host;
    this.queue = queue;
    this.tag = tag;
    this.payload = payload;
    try {
      const decoded = decodeEnvelope(payload);
      this.message = withoutRedeliveredHeader(decoded.message);
      this.redelivered = decoded.redelivered;
      this.exchange = decoded.exchange;
      this.routingKey = decoded.routingKey || queue;
    } catch {
      // Not an envelope: hand the raw text over so the worker dead-letters it instead of losing it.
      this.message = {
        headers: {},
        properties: {},
        contentType: "application/octet-stream",
        contentEncoding: "binary",
        body: new Uint8Array(Buffer.from(payload, "utf8")),
      };
      this.redelivered = false;
      this.exchange = "";
      this.routingKey = queue;
    }
  }

  /** The `unacked` hash value the fetch script wrote: kombu's `[envelope, "", queue]`. */
  get unackedValue(): string {
    return `[${this.payload}, "", ${JSON.stringify(this.queue)}]`;
  }

  /** True until settled or put back by close. */
  get held(): boolean {
    return this.#state === "held";
  }

  /** Removes the message for good. */
  ack(): Promise<void> {
    return this.#settle(() => this.#forget());
  }

  /** Drops the message; the worker has already dead-lettered it when it is configured to. */
  reject(): Promise<void> {
    return this.#settle(() => this.#forget());
  }

  /**
   * Puts the message back at the end of its priority bucket (kombu's `reject(requeue=True)` does
   * LPUSH), marked redelivered.
   */
  requeue(): Promise<void> {
    return this.#settle(() => this.#moveBack("back", true));
  }

  /** Keeps the message invisible to restorers for at least `ms` more milliseconds. */
  async extendVisibility(ms: number): Promise<void> {
    if (this.#state !== "held") throw this.#settledError();
    if (!Number.isFinite(ms) || ms < 0) {
      throw new TqError("TQ_CONFIG", `extendVisibility needs a number of ms ≥ 0, got ${ms}`, {
        component: "redis",
      });
    }
    try {
      await this.#host.visibility.extend(this, ms);
    } catch (cause) {
      throw new TqError("TQ_CONNECTION", "cannot extend a message's visibility", {
        cause,
        component: "redis",
      });
    }
  }

  /**
   * For the broker's close(): pushes an unsettled message back to the FRONT of its bucket, marked
   * redelivered (kombu's `restore_unacked_once`). Later settling rejects with `TQ_CLOSED`.
   */
  async putBack(): Promise<void> {
    if (this.#state !== "held") return;
    this.#state = "closed";
    this.#host.released(this);
    await this.#moveBack("front", true);
  }

  /** Pushes back a message no handler saw (its consumer was cancelled during the fetch). */
  async returnUnseen(): Promise<void> {
    this.#state = "closed";
    this.#host.released(this);
    await this.#moveBack("front", false);
  }

  async #settle(operation: () => Promise<void>): Promise<void> {
    if (this.#state !== "held") throw this.#settledError();
    this.#state = "settled";
    // Released first even if Redis fails: a record left behind is restored after the visibility
    // timeout, so the message is redelivered rather than lost.
    this.#host.released(this);
    try {
      await operation();
    } catch (cause) {
      throw new TqError("TQ_CONNECTION", `cannot settle a message of queue "${this.queue}"`, {
        cause,
        component: "redis",
      });
    }
  }

  #forget(): Promise<void> {
    const { keys, scripts } = this.#host;
    return scripts.forget(keys.unacked(this.queue), keys.unackedIndex(this.queue), this.tag);
  }

  async #moveBack(side: "front" | "back", mark: boolean): Promise<void> {
    const { keys, scripts } = this.#host;
    const payload = (mark ? markRedelivered(this.payload) : null) ?? this.payload;
    await scripts.move(
      keys.unacked(this.queue),
      keys.unackedIndex(this.queue),
      [keys.bucketFor(this.queue, this.message.properties.priority)],
      this.tag,
      this.unackedValue,
      "+inf",
      side,
      payload,
    );
  }

  #settledError(): TqError {
    return this.#state === "closed"
      ? new TqError("TQ_CLOSED", "the broker was closed and put this message back in its queue", {
          component: "redis",
        })
      : new TqError("TQ_DELIVERY_SETTLED", "this delivery was already settled", { component: "redis" });
  }
}

// kombu marks a restored message with a `redelivered` header; tq reports it as `Delivery.redelivered`
// instead, so the headers a handler sees (and passes on when it retries) are the ones published.
function withoutRedeliveredHeader(message: TransportMessage): TransportMessage {
  if (!("redelivered" in message.headers)) return message;
  const { redelivered: _redelivered, ...headers } = message.headers;
  return { ...message, headers };
}
