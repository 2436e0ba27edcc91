/**
 * Several receives under way per queue, against fauxqs (or TQ_TEST_SQS_ENDPOINT): counted at the SDK
 * (a middleware on the client passed in, not a mock). Prefetch is never exceeded, every message is
 * delivered once, idle queues keep one long poll and keep their share, and cancel() waits for the
 * receives under way and makes what they bring visible again. No timing asserts: waits poll for a state.
 */
import { type Message, SQSClient } from "@aws-sdk/client-sqs";
import type { Delivery } from "@tq/core";
import { afterAll, describe, expect, it } from "vitest";
import { SqsBroker } from "../src/broker.js";
import { sleep, task, waitFor } from "./support/collect.js";
import { clientSettings, RawSqs, testBrokerOptions, uniqueName } from "./support/sqs.js";

const raw = new RawSqs();
const created: string[] = [];
const brokers: SqsBroker[] = [];
const clients: SQSClient[] = [];
const direct = (queue: string) => ({ exchange: "", routingKey: queue });

function queueName(label: string): string {
  const name = uniqueName(label);
  created.push(name);
  return name;
}

function broker(options: ConstructorParameters<typeof SqsBroker>[0] = {}): SqsBroker {
  const made = new SqsBroker(testBrokerOptions(options));
  brokers.push(made);
  return made;
}

afterAll(async () => {
  await Promise.allSettled(brokers.map((each) => each.close()));
  for (const client of clients) client.destroy();
  await raw.deleteQueues(created);
  raw.close();
}, 30_000);

interface QueueReceives {
  /** Receives under way now, and the most at once. */
  underWay: number;
  maxUnderWay: number;
  /** MaxNumberOfMessages of the receives under way, and the most at once. */
  asked: number;
  maxAsked: number;
}

/**
 * An SQSClient whose middleware counts the ReceiveMessage calls under way per queue URL, and can hold
 * their replies back until released (the messages are then taken in SQS, not yet handed to tq).
 */
class ReceiveTracker {
  readonly client = new SQSClient(clientSettings());
  readonly byUrl = new Map<string, QueueReceives>();
  /** Messages of the replies that were held back. */
  readonly heldBack: Message[] = [];
  #gate: { promise: Promise<void>; open: () => void } | undefined;
  #waiting = 0;

  constructor() {
    clients.push(this.client);
    this.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== "ReceiveMessageCommand") return next(args);
        const input = args.input as { QueueUrl: string; MaxNumberOfMessages: number };
        const queue = this.queue(input.QueueUrl);
        queue.underWay++;
        queue.asked += input.MaxNumberOfMessages;
        queue.maxUnderWay = Math.max(queue.maxUnderWay, queue.underWay);
        queue.maxAsked = Math.max(queue.maxAsked, queue.asked);
        try {
          const result = await next(args);
          const gate = this.#gate;
          if (gate) {
            this.heldBack.push(...((result.output as { Messages?: Message[] }).Messages ?? []));
            this.#waiting++;
            await gate.promise;
          }
          return result;
        } finally {
          queue.underWay--;
          queue.asked -= input.MaxNumberOfMessages;
        }
      },
      { step: "initialize", name: "trackReceives" },
    );
  }

  queue(url: string): QueueReceives {
    let queue = this.byUrl.get(url);
    if (!queue) {
      queue = { underWay: 0, maxUnderWay: 0, asked: 0, maxAsked: 0 };
      this.byUrl.set(url, queue);
    }
    return queue;
  }

  /** Replies that come back from now on wait for release(). */
  holdReplies(): void {
    let open = (): void => {};
    const promise = new Promise<void>((resolve) => {
      open = resolve;
    });
    this.#gate = { promise, open };
  }

  /** How many replies wait for release(). */
  get waiting(): number {
    return this.#waiting;
  }

  release(): void {
    this.#gate?.open();
    this.#gate = undefined;
  }
}

/** Deliveries a handler holds (acked a few ms later unless told otherwise), with what it saw. */
class Holder {
  readonly held = new Set<Delivery>();
  readonly ids: string[] = [];
  readonly redelivered: string[] = [];
  readonly acks: Promise<void>[] = [];
  /** The most deliveries held plus messages asked for by receives under way, at any delivery. */
  maxCommitted = 0;
  readonly #tracker: ReceiveTracker;
  readonly #ackAfterMs: number | null;

  constructor(tracker: ReceiveTracker, ackAfterMs: number | null) {
    this.#tracker = tracker;
    this.#ackAfterMs = ackAfterMs;
  }

  readonly handler = (delivery: Delivery): void => {
    const id = String(delivery.message.headers.id);
    this.ids.push(id);
    if (delivery.redelivered) this.redelivered.push(id);
    this.held.add(delivery);
    let asked = 0;
    for (const queue of this.#tracker.byUrl.values()) asked += queue.asked;
    this.maxCommitted = Math.max(this.maxCommitted, this.held.size + asked);
    if (this.#ackAfterMs !== null) setTimeout(() => this.ack(delivery), this.#ackAfterMs);
  };

  ack(delivery: Delivery): void {
    if (!this.held.delete(delivery)) return;
    this.acks.push(delivery.ack());
  }

  ackAll(): void {
    for (const delivery of [...this.held]) this.ack(delivery);
  }
}

async function publishMany(sqs: SqsBroker, queue: string, count: number, label: string): Promise<string[]> {
  const ids = Array.from({ length: count }, (_, i) => `${label}-${i}`);
  await Promise.all(ids.map((id) => sqs.publish(task(id), direct(queue))));
  return ids;
}

describe("receives under way at once", () => {
  it("with prefetch 40 and a backlog of 100: several receives, never more than prefetch, each message once", async () => {
    const queue = queueName("rc-backlog");
    const tracker = new ReceiveTracker();
    const sqs = broker({ client: tracker.client });
    const ids = await publishMany(sqs, queue, 100, "backlog");
    const url = (await raw.url(queue))!;
    const holder = new Holder(tracker, 10);
    const consumer = await sqs.consume([queue], holder.handler, { prefetch: 40 });
    await waitFor(() => holder.ids.length >= 100, 20_000, `100 deliveries (got ${holder.ids.length})`);
    await consumer.cancel();
    await waitFor(() => holder.held.size === 0, 5_000, "the last acks");
    await Promise.all(holder.acks);

    const receives = tracker.queue(url);
    expect(receives.maxUnderWay).toBeGreaterThanOrEqual(2);
    expect(receives.maxUnderWay).toBeLessThanOrEqual(4); // the default receiveConcurrency
    expect(receives.maxAsked).toBeLessThanOrEqual(40);
    expect(holder.maxCommitted).toBeLessThanOrEqual(40);
    expect(holder.ids).toHaveLength(100); // nothing more after cancel()
    expect([...holder.ids].sort()).toEqual([...ids].sort());
    expect(holder.redelivered).toEqual([]);
    expect(await raw.readyCount(queue)).toBe(0);
    expect(await raw.inFlightCount(queue)).toBe(0);
  });

  it("receiveConcurrency 1 keeps one receive under way per queue", async () => {
    const queue = queueName("rc-one");
    const tracker = new ReceiveTracker();
    const sqs = broker({ client: tracker.client, receiveConcurrency: 1 });
    await publishMany(sqs, queue, 30, "one");
    const url = (await raw.url(queue))!;
    const holder = new Holder(tracker, 5);
    const consumer = await sqs.consume([queue], holder.handler, { prefetch: 40 });
    await waitFor(() => holder.ids.length >= 30, 20_000, `30 deliveries (got ${holder.ids.length})`);
    await consumer.cancel();
    expect(tracker.queue(url).maxUnderWay).toBe(1);
    expect(new Set(holder.ids).size).toBe(30);
  });

  it("an idle queue keeps one long poll and its share while another drains", async () => {
    const [busy, idle] = [queueName("rc-busy"), queueName("rc-idle")];
    const tracker = new ReceiveTracker();
    const sqs = broker({ client: tracker.client });
    await sqs.declareQueues([{ name: idle }]);
    const busyIds = await publishMany(sqs, busy, 60, "busy");
    const [busyUrl, idleUrl] = [(await raw.url(busy))!, (await raw.url(idle))!];
    const holder = new Holder(tracker, 10);
    const consumer = await sqs.consume([busy, idle], holder.handler, { prefetch: 40 });
    await waitFor(() => holder.ids.length >= 20, 20_000, "20 deliveries");
    expect(tracker.queue(idleUrl).maxUnderWay).toBe(1);
    await sqs.publish(task("idle-0"), direct(idle));
    await waitFor(() => holder.ids.length >= 61, 20_000, `61 deliveries (got ${holder.ids.length})`);
    await consumer.cancel();

    // Prefetch 40 over two queues: neither reserves more than 20 at once.
    expect(tracker.queue(busyUrl).maxAsked).toBeLessThanOrEqual(20);
    expect(tracker.queue(idleUrl).maxAsked).toBeLessThanOrEqual(20);
    expect(tracker.queue(busyUrl).maxUnderWay).toBeGreaterThanOrEqual(2);
    expect(holder.maxCommitted).toBeLessThanOrEqual(40);
    expect([...holder.ids].sort()).toEqual([...busyIds, "idle-0"].sort());
  });

  it("two busy queues never hold more than prefetch together (a receive's room is given back after its messages count)", async () => {
    const [first, second] = [queueName("rc-two-a"), queueName("rc-two-b")];
    const tracker = new ReceiveTracker();
    const sqs = broker({ client: tracker.client, receiveConcurrency: 1 });
    const ids = [...(await publishMany(sqs, first, 40, "a")), ...(await publishMany(sqs, second, 40, "b"))];
    const holder = new Holder(tracker, 20);
    let maxHeld = 0;
    const consumer = await sqs.consume(
      [first, second],
      (delivery) => {
        holder.handler(delivery);
        maxHeld = Math.max(maxHeld, holder.held.size);
      },
      { prefetch: 10 },
    );
    await waitFor(() => holder.ids.length >= 80, 20_000, `80 deliveries (got ${holder.ids.length})`);
    await consumer.cancel();
    expect(maxHeld).toBeLessThanOrEqual(10);
    expect(holder.maxCommitted).toBeLessThanOrEqual(10);
    expect([...holder.ids].sort()).toEqual([...ids].sort());
  });

  it("cancel() waits for every receive under way and makes what they bring visible again", async () => {
    const queue = queueName("rc-cancel");
    const tracker = new ReceiveTracker();
    const sqs = broker({ client: tracker.client });
    const ids = await publishMany(sqs, queue, 100, "cancel");
    const url = (await raw.url(queue))!;
    // Holds everything it gets until the end; replies after its first delivery wait at the gate.
    const first = new Holder(tracker, null);
    const handler = (delivery: Delivery): void => {
      first.handler(delivery);
      if (first.ids.length === 1) tracker.holdReplies();
    };
    const consumer = await sqs.consume([queue], handler, { prefetch: 40 });
    await waitFor(() => tracker.waiting >= 2, 10_000, "two receives held back");

    let cancelled = false;
    const cancelling = consumer.cancel().then(() => {
      cancelled = true;
    });
    await sleep(100);
    expect(cancelled).toBe(false); // it cannot finish while a receive is under way
    tracker.release();
    await cancelling;
    expect(tracker.queue(url).underWay).toBe(0);
    const delivered = first.ids.length;
    expect(delivered).toBeLessThanOrEqual(40);
    const handedBack = tracker.heldBack.map((message) => message.MessageId);
    expect(handedBack.length).toBeGreaterThan(0);

    // Held deliveries stay valid after cancel(); nothing stays invisible once they are acked.
    first.ackAll();
    await Promise.all(first.acks);
    await waitFor(async () => (await raw.inFlightCount(queue)) === 0, 10_000, "no message in flight");
    expect(await raw.readyCount(queue)).toBe(100 - delivered);

    // A second consumer gets the rest, among them what the cancelled receives brought, exactly once.
    const second = new Holder(tracker, 0);
    const next = await sqs.consume([queue], second.handler, { prefetch: 40 });
    await waitFor(
      () => second.ids.length >= 100 - delivered,
      20_000,
      `${100 - delivered} deliveries (got ${second.ids.length})`,
    );
    await next.cancel();
    expect([...first.ids, ...second.ids].sort()).toEqual([...ids].sort());
    expect(second.redelivered).toHaveLength(handedBack.length);
    expect(first.redelivered).toEqual([]);
  });
});
