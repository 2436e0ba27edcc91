/**
 * The ack batcher against the real RabbitMQ: the acks of one event-loop turn go out as one multiple
 * ack where the tags below the lowest unsettled one allow it, the others one by one at once (never
 * held behind a delivery still in work), and a nack in between is written in order, never covered by
 * a multiple ack.
 */
import amqplib, { type Channel, type ChannelModel, type Message } from "amqplib";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AckBatcher } from "../src/ack-batcher.js";
import { amqpTestUrl, ensureTestVhost, RawAmqp, uniqueName } from "./support/amqp-server.js";
import { sleep, until } from "./support/broker-fixtures.js";

const raw = new RawAmqp();
const queues: string[] = [];
const exchanges: string[] = [];
let model: ChannelModel;

beforeAll(async () => {
  await ensureTestVhost();
  model = await amqplib.connect(amqpTestUrl(), { clientProperties: { connection_name: "tq-test-acks" } });
});
afterAll(async () => {
  await model.close().catch(() => undefined);
  await raw.deleteQueues(queues);
  await raw.deleteExchanges(exchanges);
  await raw.close();
});

interface Consumed {
  readonly queue: string;
  readonly channel: Channel;
  readonly batcher: AckBatcher;
  /** Every frame the batcher wrote, in order: [method, tag, multiple or requeue]. */
  readonly frames: [string, number, boolean | undefined][];
  readonly messages: Message[];
  /** Resolves once `count` messages arrived. */
  arrived(count: number): Promise<void>;
}

const open: Channel[] = [];
afterEach(async () => {
  for (const channel of open.splice(0)) await channel.close().catch(() => undefined);
});

/** A queue with `count` messages `m1`…, consumed on a channel of its own, each delivery tracked. */
async function consume(count: number, queueArguments: Record<string, unknown> = {}): Promise<Consumed> {
  const queue = uniqueName("acks");
  queues.push(queue);
  await raw.withChannel(async (channel) => {
    await channel.assertQueue(queue, { durable: false, arguments: queueArguments });
    for (let i = 1; i <= count; i++) channel.sendToQueue(queue, Buffer.from(`m${i}`));
  });
  await until(async () => (await raw.readyCount(queue)) === count, `${count} messages in ${queue}`);
  const channel = await model.createChannel();
  open.push(channel);
  let closed = false;
  channel.once("close", () => {
    closed = true;
  });
  channel.on("error", () => undefined);
  const batcher = new AckBatcher(channel, () => !closed);
  const frames: Consumed["frames"] = [];
  const ack = channel.ack.bind(channel);
  const nack = channel.nack.bind(channel);
  channel.ack = (message, multiple) => {
    frames.push(["ack", message.fields.deliveryTag, multiple]);
    ack(message, multiple);
  };
  channel.nack = (message, multiple, requeue) => {
    frames.push(["nack", message.fields.deliveryTag, requeue]);
    nack(message, multiple, requeue);
  };
  const messages: Message[] = [];
  await channel.prefetch(1_000);
  await channel.consume(queue, (message) => {
    if (message === null) return;
    batcher.track(message);
    messages.push(message);
  });
  return {
    channel,
    batcher,
    frames,
    messages,
    arrived: (n) => until(() => messages.length >= n, `${n} deliveries`),
    queue,
  };
}

async function settledOnServer(queue: string, unacked: number): Promise<void> {
  await until(
    async () => (await raw.readyCount(queue)) === 0 && (await raw.inFlightCount(queue)) === unacked,
    `${queue}: 0 ready, ${unacked} unacked`,
    10_000,
  );
}

const tag = (message: Message | undefined): number => message?.fields.deliveryTag ?? -1;
const body = (message: Message): string => message.content.toString();

describe("AckBatcher", () => {
  it("acks many deliveries of one turn with a single multiple ack, written at the end of the turn", async () => {
    const consumed = await consume(200);
    await consumed.arrived(200);
    const { batcher, frames, messages } = consumed;
    const told: boolean[] = [];
    // Out of order, all in one turn.
    const order = [...messages].reverse();
    const promises = order.map((message) => batcher.ack(message, (written) => told.push(written)));
    expect(frames).toEqual([]);
    await Promise.all(promises);
    expect(frames).toEqual([["ack", tag(messages[199]), true]]);
    expect(told).toEqual(order.map(() => true));
    await settledOnServer(consumed.queue, 0);
  });

  it("acks the others at once around a delivery still in work, which stays unacked until acked", async () => {
    const consumed = await consume(10);
    await consumed.arrived(10);
    const { batcher, frames, messages } = consumed;
    const held = messages[3] as Message;
    const others = messages.filter((message) => message !== held).reverse();
    await Promise.all(others.map((message) => batcher.ack(message, () => undefined)));
    // m1…m3 below the held m4: one multiple ack; m5…m10 above it: each on its own, not held back.
    expect(frames[0]).toEqual(["ack", tag(messages[2]), true]);
    expect(frames.slice(1).map(([, t, multiple]) => [t, multiple ?? false])).toEqual(
      messages
        .slice(4)
        .reverse()
        .map((message) => [tag(message), false]),
    );
    await settledOnServer(consumed.queue, 1);
    await sleep(200);
    expect(await raw.inFlightCount(consumed.queue)).toBe(1);
    frames.length = 0;
    await batcher.ack(held, () => undefined);
    expect(frames).toEqual([["ack", tag(held), false]]);
    await settledOnServer(consumed.queue, 0);
  });

  it("writes a nack between acks in order: the rejected message is dead-lettered, not acked", async () => {
    const dlx = uniqueName("acks-dlx");
    const dlq = uniqueName("acks-dlq");
    exchanges.push(dlx);
    queues.push(dlq);
    await raw.withChannel(async (channel) => {
      await channel.assertExchange(dlx, "fanout", { durable: false });
      await channel.assertQueue(dlq, { durable: false });
      await channel.bindQueue(dlq, dlx, "");
    });
    const consumed = await consume(5, { "x-dead-letter-exchange": dlx });
    await consumed.arrived(5);
    const { batcher, frames, messages } = consumed;
    const [m1, m2, m3, m4, m5] = messages as [Message, Message, Message, Message, Message];
    const acked = [batcher.ack(m1, () => undefined), batcher.ack(m2, () => undefined)];
    batcher.nack(m3, false);
    acked.push(
      batcher.ack(m5, () => undefined),
      batcher.ack(m4, () => undefined),
    );
    await Promise.all(acked);
    expect(frames).toEqual([
      ["ack", tag(m2), true],
      ["nack", tag(m3), false],
      ["ack", tag(m5), true],
    ]);
    await settledOnServer(consumed.queue, 0);
    await until(async () => (await raw.readyCount(dlq)) === 1, "the rejected message dead-lettered");
    const dead = await raw.withChannel((channel) => channel.get(dlq, { noAck: true }));
    expect(dead && body(dead)).toBe("m3");
  });

  it("requeues a message nacked between acks; it comes back and is not covered by the multiple ack", async () => {
    const consumed = await consume(4);
    await consumed.arrived(4);
    const { batcher, frames, messages } = consumed;
    const [m1, m2, m3, m4] = messages as [Message, Message, Message, Message];
    const acked = [batcher.ack(m1, () => undefined)];
    batcher.nack(m2, true);
    acked.push(
      batcher.ack(m4, () => undefined),
      batcher.ack(m3, () => undefined),
    );
    await Promise.all(acked);
    // m1 alone, then the nack, then m3 and m4 together; m2 comes back as a new delivery.
    await consumed.arrived(5);
    const again = messages[4] as Message;
    expect(body(again)).toBe("m2");
    expect(again.fields.redelivered).toBe(true);
    expect(frames.slice(0, 2)).toEqual([
      ["ack", tag(m1), false],
      ["nack", tag(m2), true],
    ]);
    expect(frames.slice(2).map(([, t]) => t)).toEqual([tag(m4)]);
    await settledOnServer(consumed.queue, 1);
    await batcher.ack(again, () => undefined);
    await settledOnServer(consumed.queue, 0);
  });

  it("drops the acks held when the channel closes; RabbitMQ requeues their messages", async () => {
    const consumed = await consume(3);
    await consumed.arrived(3);
    const { batcher, channel, messages } = consumed;
    const told: boolean[] = [];
    const acked = messages.map((message) => batcher.ack(message, (written) => told.push(written)));
    const closing = channel.close();
    await Promise.all(acked);
    await closing;
    expect(told).toEqual([false, false, false]);
    await until(async () => (await raw.readyCount(consumed.queue)) === 3, "the messages requeued");
  });
});
