/**
 * Held messages and SQS's own machinery, against fauxqs (or TQ_TEST_SQS_ENDPOINT): visibility
 * extension while held, redelivery once the holder stops, FIFO order per group, delays on FIFO
 * queues (the tq-deliver-at attribute), and redrive to a dead-letter queue after maxReceiveCount.
 */
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import type { Delivery } from "@tq/core";
import { afterAll, describe, expect, it } from "vitest";
import { SqsBroker } from "../src/broker.js";
import { Collector, sleep, task, waitFor } from "./support/collect.js";
import { RawSqs, testBrokerOptions, uniqueName } from "./support/sqs.js";

const raw = new RawSqs();
const created: string[] = [];
const brokers: SqsBroker[] = [];
const direct = (queue: string) => ({ exchange: "", routingKey: queue });

function queueName(label: string, fifo = false): string {
  const name = `${uniqueName(label)}${fifo ? ".fifo" : ""}`;
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
  await raw.deleteQueues(created);
  raw.close();
}, 30_000);

describe("visibility", () => {
  it("a held message is not redelivered past the visibility timeout; one whose holder stopped comes back", async () => {
    const queue = queueName("vis");
    const holderBroker = broker({ visibilityTimeoutMs: 2_000 });
    const other = broker({ visibilityTimeoutMs: 2_000 });
    await holderBroker.publish(task("held-1"), direct(queue));
    const holder = new Collector();
    const holding = await holderBroker.consume([queue], holder.handler, { prefetch: 1 });
    const [held] = await holder.next(1);
    const watcher = new Collector((delivery) => delivery.ack());
    const watching = await other.consume([queue], watcher.handler, { prefetch: 5 });
    await sleep(5_000); // 2.5 visibility timeouts
    expect(watcher.arrivals).toHaveLength(0);
    expect(await raw.inFlightCount(queue)).toBe(1);
    await Promise.all([holding.cancel(), watching.cancel()]);
    await held!.delivery.ack();

    // A holder that never extends: a raw receive with a 2 s timeout, then nothing.
    await holderBroker.publish(task("orphan-1"), direct(queue));
    const url = await raw.url(queue);
    const taken = await raw.client.send(
      new ReceiveMessageCommand({ QueueUrl: url, VisibilityTimeout: 2, WaitTimeSeconds: 2 }),
    );
    expect(taken.Messages).toHaveLength(1);
    const takenAt = Date.now();
    const again = new Collector((delivery) => delivery.ack());
    await other.consume([queue], again.handler, { prefetch: 5 });
    const [back] = await again.next(1, 6_000);
    expect(back!.at - takenAt).toBeGreaterThan(1_500);
    expect(String(back!.delivery.message.headers.id)).toBe("orphan-1");
    expect(back!.delivery.redelivered).toBe(true);
  }, 20_000);

  it("extendVisibility keeps one message hidden for longer than the timeout", async () => {
    const queue = queueName("extend");
    const sqs = broker({ visibilityTimeoutMs: 60_000 });
    await sqs.publish(task("ext-1"), direct(queue));
    const collector = new Collector();
    await sqs.consume([queue], collector.handler, { prefetch: 1 });
    const [arrival] = await collector.next(1);
    await arrival!.delivery.extendVisibility!(120_000);
    expect(await raw.inFlightCount(queue)).toBe(1);
    await sleep(200);
    expect(collector.arrivals).toHaveLength(1);
    await arrival!.delivery.requeue();
    const [, second] = await collector.next(2);
    expect(second!.delivery.redelivered).toBe(true);
    await second!.delivery.ack();
  });
});

describe("FIFO queues", () => {
  it("keeps the order within each message group", async () => {
    const queue = queueName("order", true);
    const sqs = broker();
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 12; i++) {
      for (const group of ["g1", "g2"]) {
        sends.push(sqs.publish(task(`${group}-${i}`, { MessageGroupId: group }), direct(queue)));
      }
    }
    await Promise.all(sends);
    const attributes = await raw.attributes(queue, ["FifoQueue"]);
    expect(attributes.FifoQueue).toBe("true");
    const collector = new Collector((delivery) => delivery.ack());
    await sqs.consume([queue], collector.handler, { prefetch: 3 });
    await collector.next(24, 15_000);
    for (const group of ["g1", "g2"]) {
      const ids = collector.ids.filter((id) => id.startsWith(`${group}-`));
      expect(ids).toEqual(Array.from({ length: 12 }, (_, i) => `${group}-${i}`));
    }
  }, 30_000);

  it("delays on a FIFO queue (no DelaySeconds there) through the tq-deliver-at attribute", async () => {
    const queue = queueName("fifodelay", true);
    const sqs = broker();
    const deliverAt = new Date(Date.now() + 1_500);
    await sqs.publish(task("fd-1"), direct(queue), { deliverAt });
    const collector = new Collector((delivery) => delivery.ack());
    await sqs.consume([queue], collector.handler, { prefetch: 1 });
    const [arrival] = await collector.next(1);
    expect(arrival!.at).toBeGreaterThanOrEqual(deliverAt.getTime() - 25);
    expect(arrival!.delivery.redelivered).toBe(false);
  });
});

describe("dead-letter queue", () => {
  it("SQS moves a message received maxReceiveCount times to the dead-letter queue", async () => {
    const queue = queueName("dlq-main");
    const deadLetterQueue = queueName("dlq-dead");
    const sqs = broker({ deadLetterQueue, maxReceiveCount: 2 });
    await sqs.publish(task("poison-1"), direct(queue));
    const policy = JSON.parse((await raw.attributes(queue, ["RedrivePolicy"])).RedrivePolicy ?? "{}");
    expect(policy).toMatchObject({ maxReceiveCount: 2 });
    expect(policy.deadLetterTargetArn).toMatch(/dlq-dead/);
    const collector = new Collector((delivery: Delivery) => delivery.requeue());
    await sqs.consume([queue], collector.handler, { prefetch: 1 });
    await waitFor(async () => (await raw.readyCount(deadLetterQueue)) === 1, 8_000, "the message in the DLQ");
    expect(collector.arrivals).toHaveLength(2);
    expect(collector.arrivals.map((arrival) => arrival.delivery.redelivered)).toEqual([false, true]);
  });
});
