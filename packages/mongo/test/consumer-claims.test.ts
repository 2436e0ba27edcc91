/**
 * The consumer's claims, against a stand-in collection whose `findOneAndUpdate` answers only when the
 * test says so: how many claims are under way at each step, never more than the free prefetch slots,
 * the fan-out once a probe finds a message, the back-off after one finds nothing, and cancel().
 */
import { randomUUID } from "node:crypto";
import type { Delivery } from "@tq/core";
import { noopLogger } from "@tq/core";
import { type Collection, ObjectId } from "mongodb";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_CLAIMS_IN_FLIGHT, MongoConsumer } from "../src/consumer.js";
import { encodePayload, type MessageDocument } from "../src/message-codec.js";
import type { MongoDelivery } from "../src/mongo-delivery.js";
import { type ChangeWatcher, notifyLocal } from "../src/wakeups.js";

interface Claim {
  resolve(document: MessageDocument | null): void;
  reject(error: Error): void;
}

/** A messages collection whose claims wait for the test, and which records every other write. */
class ClaimsCollection {
  readonly claims: Claim[] = [];
  readonly updates: unknown[][] = [];
  /** Claims under way (sent, not answered). */
  inFlight = 0;
  total = 0;
  /** Checked at every claim: held + claims under way, including this one. */
  readonly onClaim: (() => void)[] = [];

  findOneAndUpdate(): Promise<MessageDocument | null> {
    this.total++;
    this.inFlight++;
    for (const check of this.onClaim) check();
    return new Promise((resolve, reject) => {
      const done = () => {
        this.inFlight--;
      };
      this.claims.push({
        resolve: (document) => {
          done();
          resolve(document);
        },
        reject: (error) => {
          done();
          reject(error);
        },
      });
    });
  }

  /** Answers the oldest `n` claims under way with `answer()`. */
  answer(n: number, answer: () => MessageDocument | null): void {
    for (const claim of this.claims.splice(0, n)) claim.resolve(answer());
  }

  updateOne(...args: unknown[]): Promise<{ matchedCount: number }> {
    this.updates.push(args);
    return Promise.resolve({ matchedCount: 1 });
  }

  deleteOne(): Promise<{ deletedCount: number }> {
    return Promise.resolve({ deletedCount: 1 });
  }
}

function document(queue = "q"): MessageDocument {
  const id = randomUUID();
  return {
    _id: new ObjectId(),
    queue,
    priority: 0,
    visibleAt: new Date(),
    owner: "me",
    deadline: new Date(Date.now() + 60_000),
    deliveries: 1,
    payload: encodePayload({
      headers: { id, task: "claims.work" },
      properties: { correlation_id: id },
      contentType: "application/json",
      contentEncoding: "utf-8",
      body: new TextEncoder().encode("[[], {}, {}]"),
    }),
  };
}

const noWatcher = { subscribe: () => () => {} } as unknown as ChangeWatcher;
/** Lets every promise job and I/O callback queued so far run. */
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};

const consumers: { consumer: MongoConsumer; collection: ClaimsCollection }[] = [];
afterEach(async () => {
  for (const { consumer, collection } of consumers.splice(0)) {
    let cancelled = false;
    const cancelling = consumer.cancel().then(() => {
      cancelled = true;
    });
    // cancel() waits for the claims under way: answer them.
    while (!cancelled) {
      collection.answer(collection.claims.length, () => null);
      await settle();
    }
    await cancelling;
  }
});

function start(prefetch: number, options: { pollIntervalMs?: number } = {}) {
  const collection = new ClaimsCollection();
  const held: Delivery[] = [];
  const localKey = `claims-test/${randomUUID()}`;
  const consumer = new MongoConsumer(
    {
      collection: collection as unknown as Collection<MessageDocument>,
      owner: "me",
      deadLetterQueue: undefined,
      visibilityTimeoutMs: 60_000,
      // Long enough that no back-off sleep ends during a test: every claim after an empty one is a wake's.
      pollIntervalMs: options.pollIntervalMs ?? 60_000,
      maxPollIntervalMs: 60_000,
      localKey,
      watcher: noWatcher,
      held: new Set<MongoDelivery>(),
      logger: noopLogger,
      released: () => {},
      lostLease: () => {},
      settling: () => {},
    },
    ["q"],
    (delivery) => void held.push(delivery),
    prefetch,
  );
  const unsettled = () => held.filter((delivery) => (delivery as MongoDelivery).held).length;
  collection.onClaim.push(() => {
    expect(unsettled() + collection.inFlight).toBeLessThanOrEqual(prefetch);
    expect(collection.inFlight).toBeLessThanOrEqual(MAX_CLAIMS_IN_FLIGHT);
  });
  consumer.start();
  consumers.push({ consumer, collection });
  return { consumer, collection, held, unsettled, wake: () => notifyLocal(localKey) };
}

describe("MongoConsumer claims", () => {
  it("claims again at once after a message, widening by one per message found, never holding more than prefetch", async () => {
    const { collection, held, unsettled } = start(5);
    await settle();
    expect(collection.inFlight).toBe(1);

    collection.answer(1, () => document());
    await settle();
    // Found one: the next claim goes out at once, without waiting for a timer.
    expect(held).toHaveLength(1);
    expect(collection.inFlight).toBe(1);

    collection.answer(1, () => document());
    await settle();
    // A second in a row: two claims under way.
    expect(collection.inFlight).toBe(2);

    collection.answer(2, () => document());
    await settle();
    // The window is 4 now, but only 2 prefetch slots are free.
    expect(unsettled()).toBe(4);
    expect(collection.inFlight).toBe(1);
    collection.answer(1, () => document());
    await settle();
    expect(unsettled()).toBe(5);
    expect(collection.inFlight).toBe(0);

    // Full: settling one frees one slot, and one claim goes out for it.
    await held[0]!.ack();
    await settle();
    expect(collection.inFlight).toBe(1);
    collection.answer(1, () => document());
    await settle();
    expect(unsettled()).toBe(5);
    expect(collection.inFlight).toBe(0);
    expect(collection.total).toBe(6);
  });

  it(`has at most ${MAX_CLAIMS_IN_FLIGHT} claims under way with a large prefetch`, async () => {
    const { collection, held } = start(100);
    let most = 0;
    for (let round = 0; round < 10; round++) {
      await settle();
      most = Math.max(most, collection.inFlight);
      collection.answer(collection.claims.length, () => document());
    }
    await settle();
    expect(most).toBe(MAX_CLAIMS_IN_FLIGHT);
    expect(collection.inFlight).toBe(MAX_CLAIMS_IN_FLIGHT);
    expect(held.length + collection.inFlight).toBeLessThanOrEqual(100);
  });

  /** Starts a consumer and lets its window grow to `n` claims under way. */
  async function widened(prefetch: number, n: number) {
    const started = start(prefetch);
    await settle();
    while (started.collection.inFlight < n) {
      started.collection.answer(1, () => document());
      await settle();
    }
    return started;
  }

  it("stops claiming once a claim finds nothing, backs off, and probes with one claim when woken", async () => {
    const { collection, held, wake } = await widened(20, 4);
    const heldBefore = held.length;

    // The queue ran dry: one claim comes back empty, the others still bring messages.
    collection.answer(1, () => null);
    collection.answer(3, () => document());
    await settle();
    expect(held).toHaveLength(heldBefore + 3);
    expect(collection.inFlight).toBe(0);
    const before = collection.total;
    await settle();
    expect(collection.total).toBe(before); // asleep: no timer ends within the test

    // An in-process publish wakes it: one probe, not a fan-out onto a queue that looked empty.
    wake();
    await settle();
    expect(collection.inFlight).toBe(1);
    collection.answer(1, () => null);
    await settle();
    expect(collection.inFlight).toBe(0);
    expect(collection.total).toBe(before + 1);
  });

  it("backs off after a failed claim instead of retrying at once", async () => {
    const { collection } = start(4);
    await settle();
    collection.claims.shift()!.reject(new Error("connection reset"));
    await settle();
    expect(collection.inFlight).toBe(0);
    expect(collection.total).toBe(1);
  });

  it("re-checks after its poll interval when nothing wakes it", async () => {
    const { collection } = start(4, { pollIntervalMs: 1 });
    await settle();
    collection.answer(1, () => null);
    // The back-off sleep (1 ms, doubling) ends by itself and the next probe goes out.
    while (collection.inFlight === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(collection.total).toBe(2);
  });

  it("cancel() sends no new claims and puts back, unseen, what the claims under way took", async () => {
    const { consumer, collection, held } = await widened(10, 4);
    const heldBefore = held.length;
    const claimsBefore = collection.total;
    expect(collection.inFlight).toBe(4);

    let cancelled = false;
    const cancelling = consumer.cancel().then(() => {
      cancelled = true;
    });
    await settle();
    expect(cancelled).toBe(false); // it waits for the claims under way
    collection.answer(4, () => document());
    await cancelling;
    expect(held).toHaveLength(heldBefore);
    expect(collection.total).toBe(claimsBefore);
    // Each put back as never delivered: owner cleared, the claim's delivery count taken back.
    expect(collection.updates).toHaveLength(4);
    for (const [filter, update] of collection.updates) {
      expect(filter).toMatchObject({ owner: "me" });
      expect(update).toEqual({ $set: { owner: null, deadline: null }, $inc: { deliveries: -1 } });
    }
  });
});
