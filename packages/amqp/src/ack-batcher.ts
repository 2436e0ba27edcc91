import type { Channel, Message } from "amqplib";

/** Told once a delivery's ack was written (true), or dropped with its channel (false). */
export type AckDone = (written: boolean) => void;

interface Entry {
  readonly message: Message;
  /** Set once acked by the application: the ack waits for the next flush. */
  done: AckDone | undefined;
  /** Its ack frame was written. */
  written: boolean;
}

const settled = Promise.resolve();

/**
 * Coalesces the acks of one consumer channel: the acks of an event-loop turn go out together at the
 * end of it (`setImmediate`, after every I/O callback of the turn and the promise jobs they ran, so
 * tasks finishing on different socket reads share one flush; a microtask would flush after the first
 * of them). All acked tags below the lowest one still unsettled go as ONE `basic.ack` with
 * `multiple=true`; acked tags above it go one by one in the same flush, never held back behind a
 * delivery still being worked on (a held ack keeps its prefetch slot and is redelivered after a crash).
 *
 * Every delivery of the channel is {@link track}ed as it arrives, handed out or not, so a multiple ack
 * never covers a tag the application has not settled. Nacks go out at once, after the pending acks
 * (a multiple ack sent later does not cover them: RabbitMQ already forgot their tags). Tags are per
 * channel: a batcher lives and dies with its channel, and what it holds when the channel closes is
 * dropped (RabbitMQ requeued those messages).
 */
export class AckBatcher {
  readonly #channel: Channel;
  readonly #isOpen: () => boolean;
  /** Deliveries not yet settled on the wire, in tag order (a Map iterates in insertion order). */
  readonly #unsettled = new Map<number, Entry>();
  /** Acked by the application, waiting for the flush, in the order they were acked. */
  #pending: Entry[] = [];
  #immediate: NodeJS.Immediate | undefined;
  #flushed: Promise<void> | undefined;
  #resolveFlushed: (() => void) | undefined;

  constructor(channel: Channel, isOpen: () => boolean) {
    this.#channel = channel;
    this.#isOpen = isOpen;
  }

  /** Registers a delivery as it arrives; every delivery of the channel must be tracked, in order. */
  track(message: Message): void {
    this.#unsettled.set(message.fields.deliveryTag, { message, done: undefined, written: false });
  }

  /**
   * Acks a tracked delivery with the next flush; resolves once its frame was written or dropped with
   * the channel (never rejects), after `done` was told which.
   */
  ack(message: Message, done: AckDone): Promise<void> {
    const entry = this.#unsettled.get(message.fields.deliveryTag);
    if (entry === undefined) {
      // Not tracked (a caller's mistake): written at once, as amqplib would.
      let ok = false;
      try {
        this.#channel.ack(message);
        ok = true;
      } catch {
        // The channel closed or is closing.
      }
      done(ok);
      return settled;
    }
    const first = entry.done;
    if (first === undefined) {
      entry.done = done;
      this.#pending.push(entry);
    } else {
      // Acked twice before the flush (a caller's mistake): one frame, both told.
      entry.done = (written) => {
        first(written);
        done(written);
      };
    }
    if (this.#flushed === undefined) {
      this.#flushed = new Promise<void>((resolve) => {
        this.#resolveFlushed = resolve;
      });
      this.#immediate = setImmediate(() => this.flush());
    }
    return this.#flushed;
  }

  /**
   * `basic.nack` now (`requeue` or not), after the pending acks; throws as amqplib does when the
   * channel is closed or closing.
   */
  nack(message: Message, requeue: boolean): void {
    this.flush();
    this.#unsettled.delete(message.fields.deliveryTag);
    this.#channel.nack(message, false, requeue);
  }

  /** Writes the pending acks now (before a nack, before closing the channel). */
  flush(): void {
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#immediate = undefined;
    const pending = this.#pending;
    const resolve = this.#resolveFlushed;
    this.#pending = [];
    this.#flushed = undefined;
    this.#resolveFlushed = undefined;
    if (pending.length === 0) {
      resolve?.();
      return;
    }
    if (this.#isOpen()) this.#write(pending);
    for (const entry of pending) (entry.done as AckDone)(entry.written);
    resolve?.();
  }

  // Writes the acks, marking the entries written (all of them unless the channel died meanwhile).
  #write(pending: readonly Entry[]): void {
    const unsettled = this.#unsettled;
    // The acked prefix, below the lowest delivery still unsettled: one multiple ack.
    const prefix: Entry[] = [];
    for (const [tag, entry] of unsettled) {
      if (entry.done === undefined) break;
      unsettled.delete(tag);
      prefix.push(entry);
    }
    try {
      const highest = prefix[prefix.length - 1];
      if (highest !== undefined) {
        this.#channel.ack(highest.message, prefix.length > 1);
        for (const entry of prefix) entry.written = true;
      }
      // Acked above it: each on its own, now.
      for (const entry of pending) {
        if (!unsettled.delete(entry.message.fields.deliveryTag)) continue;
        this.#channel.ack(entry.message);
        entry.written = true;
      }
    } catch {
      // The channel closed or is closing: RabbitMQ requeues what was not written.
    }
  }
}
