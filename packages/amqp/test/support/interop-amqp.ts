/**
 * RabbitMQ as the interop and CLI tests see it: the test URL, names unique to the run, and a probe that
 * reads queue state straight from the server (with amqplib, not through tq) and removes what a test
 * created.
 */
import { randomBytes } from "node:crypto";
import { type ChannelModel, connect } from "amqplib";
import { waitUntil } from "./interop-processes.js";

/** The test RabbitMQ (`TQ_TEST_AMQP_URL`, default guest on 127.0.0.1:5672, vhost `/`). */
export function testAmqpUrl(): string {
  return process.env.TQ_TEST_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672//";
}

/** A name prefix unique to this test run, e.g. `tqt-1a2b3c4d-`. */
export function uniquePrefix(): string {
  return `tqt-${randomBytes(4).toString("hex")}-`;
}

/** What RabbitMQ says about a queue. */
export interface QueueState {
  messages: number;
  consumers: number;
}

/** A connection for assertions and clean-up; `close()` it in `afterAll`. */
export class AmqpProbe {
  readonly #url: string;
  #connection: ChannelModel | undefined;

  constructor(url: string = testAmqpUrl()) {
    this.#url = url;
  }

  async #model(): Promise<ChannelModel> {
    this.#connection ??= await connect(this.#url, {
      clientProperties: { connection_name: "tq-interop-probe" },
    });
    return this.#connection;
  }

  // A failed check closes its channel (404 NOT_FOUND), so each question gets a channel of its own.
  async #withChannel<T>(use: (channel: Awaited<ReturnType<ChannelModel["createChannel"]>>) => Promise<T>) {
    const channel = await (await this.#model()).createChannel();
    channel.on("error", () => {
      // The channel-level error is the answer (e.g. "no such queue"); the rejected call reports it.
    });
    try {
      return await use(channel);
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  /** The queue's depth and consumers, or undefined when it does not exist (checked without declaring). */
  async queue(name: string): Promise<QueueState | undefined> {
    try {
      return await this.#withChannel(async (channel) => {
        const reply = await channel.checkQueue(name);
        return { messages: reply.messageCount, consumers: reply.consumerCount };
      });
    } catch {
      return undefined;
    }
  }

  /** True when an exchange of that name exists (checked without declaring). */
  async exchangeExists(name: string): Promise<boolean> {
    try {
      await this.#withChannel((channel) => channel.checkExchange(name));
      return true;
    } catch {
      return false;
    }
  }

  /** Resolves with the queue's state once `accept` returns true for it. */
  waitForQueue(name: string, accept: (state: QueueState) => boolean, timeoutMs: number): Promise<QueueState> {
    return waitUntil(
      `queue ${name} reaches the expected state`,
      async () => {
        const state = await this.queue(name);
        return state && accept(state) ? state : undefined;
      },
      timeoutMs,
    );
  }

  /** Declares a plain queue (not durable, not exclusive: another connection reads it); `remove()` it. */
  async declareQueue(name: string): Promise<void> {
    await this.#withChannel((channel) => channel.assertQueue(name, { durable: false }));
  }

  /** Deletes the queues and exchanges a test created; names that do not exist are skipped. */
  async remove(names: { queues?: readonly string[]; exchanges?: readonly string[] }): Promise<void> {
    for (const queue of names.queues ?? []) {
      await this.#withChannel((channel) => channel.deleteQueue(queue)).catch(() => undefined);
    }
    for (const exchange of names.exchanges ?? []) {
      await this.#withChannel((channel) => channel.deleteExchange(exchange)).catch(() => undefined);
    }
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    await this.#connection?.close().catch(() => undefined);
    this.#connection = undefined;
  }
}
