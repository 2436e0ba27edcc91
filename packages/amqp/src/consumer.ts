import type { Consumer, DeliveryHandler, Logger } from "@tq/core";
import type { Channel, ChannelModel, Message } from "amqplib";
import { AckBatcher } from "./ack-batcher.js";
import { AmqpDelivery, type DeliverySession } from "./amqp-delivery.js";
import type { ConnectionManager } from "./connection-manager.js";
import { declarationError, type Topology } from "./topology.js";

/** What a consumer shares with its broker. */
export interface ConsumerContext {
  readonly manager: ConnectionManager;
  readonly topology: Topology;
  readonly logger: Logger;
  /** How long a (re)start waits for the connection and declarations. */
  readonly timeoutMs: number;
}

// One channel of a consumer: a new one after each reconnect or channel error.
class Session implements DeliverySession {
  readonly channel: Channel;
  readonly acks: AckBatcher;
  readonly logger: Logger;
  readonly #owner: AmqpConsumer;
  readonly #manager: ConnectionManager;
  unsettled = 0;
  readonly tags: string[] = [];

  constructor(owner: AmqpConsumer, channel: Channel, manager: ConnectionManager, logger: Logger) {
    this.#owner = owner;
    this.channel = channel;
    this.acks = new AckBatcher(channel, () => this.isOpen());
    this.#manager = manager;
    this.logger = logger;
  }

  isOpen(): boolean {
    return this.#manager.isOpen(this.channel);
  }

  released(): void {
    this.unsettled--;
    this.#owner.released(this);
  }

  /** Closes the channel after writing the acks it holds. */
  close(): void {
    if (this.isOpen()) this.acks.flush();
    this.channel.close().catch(() => undefined);
  }
}

const RESTART_DELAYS_MS = [100, 500, 1_000, 2_000, 5_000];

interface Waiting {
  readonly session: Session;
  readonly queue: string;
  readonly message: Message;
}

/**
 * A consumer of some queues on a channel of its own, so its `basic.qos` prefetch is its own
 * (`global=false`: per `basic.consume`). The prefetch bounds the unsettled deliveries handed to the
 * handler. With one queue RabbitMQ enforces it exactly. With several, each queue's consume has that
 * prefetch and the consumer hands out at most `prefetch` at once, keeping the others (unacked, so
 * requeued if it goes away) until a slot frees: a channel-wide prefetch (`global=true`, what Celery
 * 5.2 sets) would be exact, but RabbitMQ closes the whole connection (540 NOT_IMPLEMENTED) when such
 * a channel consumes a quorum queue, and whether a queue is a quorum queue cannot be asked over AMQP.
 *
 * It lives through reconnections: on every new connection it declares its queues again and
 * consumes with the same prefetch; a channel the server closed (a channel error, or the queue
 * deleted under it) is replaced after a short backoff. Deliveries of the old channel can no longer
 * be settled (see {@link AmqpDelivery}). After `cancel()` no new delivery arrives; the channel stays
 * open until the deliveries handed out are settled, then closes.
 */
export class AmqpConsumer implements Consumer {
  readonly #context: ConsumerContext;
  readonly #queues: readonly string[];
  readonly #handler: DeliveryHandler;
  readonly #prefetch: number;
  readonly #waiting: Waiting[] = [];
  #session: Session | undefined;
  #active = true;
  #closingNow = false;
  #restarts = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopListening: (() => void) | undefined;
  #cancelled: Promise<void> | undefined;
  #finish!: () => void;
  /** Resolves once the consumer is cancelled and its channel closed (nothing of it is left). */
  readonly finished = new Promise<void>((resolve) => {
    this.#finish = resolve;
  });

  constructor(
    context: ConsumerContext,
    queues: readonly string[],
    handler: DeliveryHandler,
    prefetch: number,
  ) {
    this.#context = context;
    this.#queues = queues;
    this.#handler = handler;
    this.#prefetch = prefetch;
  }

  /** Consumes on the current connection (rejects when it cannot), then follows reconnections. */
  async start(): Promise<void> {
    const { manager, timeoutMs } = this.#context;
    const model = await manager.waitForConnection({ deadline: Date.now() + timeoutMs });
    await this.#open(model);
    this.#stopListening = manager.onConnect((next) => this.#restart(next));
  }

  /** Stops new deliveries; the channel closes once the deliveries handed out are settled. */
  cancel(): Promise<void> {
    this.#cancelled ??= this.#cancel();
    return this.#cancelled;
  }

  /** For the broker's close(): writes the acks held, closes the channel now; RabbitMQ requeues what was not settled. */
  async closeNow(): Promise<void> {
    this.#stop();
    this.#closingNow = true;
    this.#waiting.length = 0;
    const session = this.#session;
    this.#session = undefined;
    if (session?.isOpen()) {
      session.acks.flush();
      await session.channel.close().catch(() => undefined);
    }
    this.#finish();
  }

  /** A delivery of `session` was settled: hand out one that waits for a slot, or close a cancelled channel. */
  released(session: Session): void {
    if (this.#active) {
      this.#pump();
      return;
    }
    if (session.unsettled <= 0 && session.isOpen() && !this.#closingNow) {
      if (this.#session === session) this.#session = undefined;
      session.close();
      this.#finish();
    }
  }

  async #cancel(): Promise<void> {
    this.#stop();
    const session = this.#session;
    if (!session?.isOpen()) {
      this.#finish();
      return;
    }
    await Promise.all(session.tags.map((tag) => session.channel.cancel(tag).catch(() => undefined)));
    // Those no handler saw go back for other consumers.
    for (const waiting of this.#waiting.splice(0)) this.#giveBack(waiting.session, waiting.message);
    if (session.unsettled <= 0) this.released(session);
  }

  #stop(): void {
    this.#active = false;
    clearTimeout(this.#timer);
    this.#stopListening?.();
  }

  async #open(model: ChannelModel): Promise<void> {
    const { manager, topology, logger, timeoutMs } = this.#context;
    const deadline = Date.now() + timeoutMs;
    for (const queue of this.#queues) await topology.ensureQueue(queue, deadline);
    const channel = await manager.openChannel(model, "plain");
    const session = new Session(this, channel, manager, logger);
    try {
      await channel.prefetch(this.#prefetch, false);
      for (const queue of this.#queues) {
        const reply = await channel.consume(queue, (message) => this.#deliver(session, queue, message));
        session.tags.push(reply.consumerTag);
      }
    } catch (error) {
      await channel.close().catch(() => undefined);
      throw declarationError(error, `consume queues ${this.#queues.join(", ")}`);
    }
    if (!this.#active) {
      await channel.close().catch(() => undefined);
      return;
    }
    channel.once("close", () => this.#lost(session));
    this.#session = session;
    this.#restarts = 0;
    // Closed in the same socket read as the consume-ok, before the listener was there.
    if (!session.isOpen()) this.#lost(session);
  }

  #deliver(session: Session, queue: string, message: Message | null): void {
    const { logger } = this.#context;
    if (message === null) {
      // RabbitMQ cancelled the consumer (its queue was deleted): start again, declaring the queue.
      logger.warn("RabbitMQ cancelled the consumer; consuming again", { "tq.queue": queue });
      this.#context.topology.forgetQueue(queue);
      session.close();
      return;
    }
    // Every delivery of the channel, handed out or not, so that a multiple ack never covers it.
    session.acks.track(message);
    if (!this.#active) {
      // Sent before our basic.cancel arrived: give it back for another consumer.
      this.#giveBack(session, message);
      return;
    }
    if (session.unsettled >= this.#prefetch || this.#waiting.length > 0) {
      // Several queues, each with its own prefetch: this one waits for a slot, in arrival order.
      this.#waiting.push({ session, queue, message });
      this.#pump();
      return;
    }
    this.#hand(session, queue, message);
  }

  // Hands out waiting deliveries while their channel has free slots.
  #pump(): void {
    while (this.#waiting.length > 0) {
      const next = this.#waiting[0] as Waiting;
      if (next.session.isOpen() && next.session.unsettled >= this.#prefetch) return;
      this.#waiting.shift();
      this.#hand(next.session, next.queue, next.message);
    }
  }

  #hand(session: Session, queue: string, message: Message): void {
    const { logger } = this.#context;
    if (!session.isOpen()) return; // RabbitMQ requeued it with its channel.
    session.unsettled++;
    let delivery: AmqpDelivery;
    try {
      delivery = new AmqpDelivery(session, queue, message);
    } catch (error) {
      logger.error("could not read a delivery; rejecting it", { "tq.queue": queue, error });
      session.unsettled--;
      if (session.isOpen()) session.acks.nack(message, false);
      return;
    }
    try {
      const result = this.#handler(delivery);
      if (result instanceof Promise) result.catch((error: unknown) => handlerFailed(logger, queue, error));
    } catch (error) {
      handlerFailed(logger, queue, error);
    }
  }

  #giveBack(session: Session, message: Message): void {
    if (session.isOpen()) session.acks.nack(message, true);
  }

  // The channel closed under us: by a lost connection (the connect listener restarts us) or by the
  // server on a live connection (a channel error, or the consumer cancelled): start again shortly.
  #lost(session: Session): void {
    if (this.#session !== session) return;
    this.#session = undefined;
    // RabbitMQ requeued what waited for a slot along with the rest.
    this.#waiting.length = 0;
    if (!this.#active) {
      this.#finish();
      return;
    }
    const current = this.#context.manager.current;
    if (current && current.connection === session.channel.connection) this.#schedule(current);
  }

  #restart(model: ChannelModel): void {
    if (!this.#active) return;
    const session = this.#session;
    if (session?.isOpen() && session.channel.connection === model.connection) return;
    this.#session = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#open(model).catch((error: unknown) => this.#failed(model, error));
  }

  #schedule(model: ChannelModel): void {
    if (this.#timer) return;
    const delayMs = RESTART_DELAYS_MS[Math.min(this.#restarts++, RESTART_DELAYS_MS.length - 1)];
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#active || this.#context.manager.current !== model) return;
      this.#open(model).catch((error: unknown) => this.#failed(model, error));
    }, delayMs);
  }

  #failed(model: ChannelModel, error: unknown): void {
    if (!this.#active) return;
    this.#context.logger.warn("could not resume consuming; trying again", {
      "tq.queues": this.#queues.join(","),
      error,
    });
    // On a connection that dropped meanwhile, the next connection restarts us.
    if (this.#context.manager.current === model) this.#schedule(model);
  }
}

function handlerFailed(logger: Logger, queue: string, error: unknown): void {
  logger.error("a delivery handler threw; the consumer goes on", { "tq.queue": queue, error });
}
