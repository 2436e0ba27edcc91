/**
 * What SQS adds beyond the conformance suite, against fauxqs (or TQ_TEST_SQS_ENDPOINT): long polling,
 * batched sends and deletes counted at the SDK (a middleware, not a mock), kombu's body layout both
 * ways, name mapping on the server, and DelaySeconds.
 */
import { Buffer } from "node:buffer";
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, describe, expect, it } from "vitest";
import { SqsBroker } from "../src/broker.js";
import { Collector, sleep, task } from "./support/collect.js";
import { clientSettings, RawSqs, testBrokerOptions, uniqueName } from "./support/sqs.js";

const raw = new RawSqs();
const created: string[] = [];
const brokers: SqsBroker[] = [];
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
  await raw.deleteQueues(created);
  raw.close();
}, 30_000);

describe("SqsBroker on SQS", () => {
  it("long polling: a waiting consumer receives a later message within ms, not a poll interval", async () => {
    const queue = queueName("longpoll");
    const sqs = broker({ waitTimeSeconds: 5 });
    const collector = new Collector((delivery) => delivery.ack());
    await sqs.consume([queue], collector.handler, { prefetch: 1 });
    await sleep(500); // the receive is now parked in SQS
    const sentAt = Date.now();
    await sqs.publish(task("lp-1"), direct(queue));
    const [arrival] = await collector.next(1);
    expect(arrival!.at - sentAt).toBeLessThan(300);
  });

  it("sends the publishes of one turn as SendMessageBatch calls of 10, and acks as DeleteMessageBatch", async () => {
    const queue = queueName("batch");
    const client = new SQSClient(clientSettings());
    const calls: string[] = [];
    client.middlewareStack.add(
      (next, context) => (args) => {
        calls.push(String(context.commandName));
        return next(args);
      },
      { step: "initialize", name: "countCalls" },
    );
    const sqs = broker({ client });
    await sqs.declareQueues([{ name: queue }]);
    calls.length = 0;
    await Promise.all(Array.from({ length: 25 }, (_, i) => sqs.publish(task(`batch-${i}`), direct(queue))));
    expect(calls.filter((name) => name === "SendMessageBatchCommand")).toHaveLength(3);
    expect(calls).not.toContain("SendMessageCommand");
    calls.length = 0;
    const collector = new Collector((delivery) => delivery.ack());
    await sqs.consume([queue], collector.handler, { prefetch: 30 });
    await collector.next(25);
    await sleep(100);
    const deletes = calls.filter((name) => name.startsWith("DeleteMessage"));
    expect(deletes.length).toBeGreaterThan(0);
    expect(deletes.length).toBeLessThanOrEqual(10); // receives bring up to 10; their acks share a call
    expect(calls).toContain("DeleteMessageBatchCommand");
    expect(await raw.readyCount(queue)).toBe(0);
    client.destroy();
  });

  it("stores kombu's layout: MessageBody = base64 of the JSON envelope, under the mapped queue name", async () => {
    const queue = `${queueName("layout")}.a:b`;
    created.push(queue);
    const sqs = broker({ queueNamePrefix: "" });
    await sqs.publish(task("layout-1"), direct(queue));
    const url = await raw.url(queue);
    expect(url).toMatch(/-a_b$/);
    const reply = await raw.client.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1 }));
    const body = reply.Messages?.[0]?.Body ?? "";
    const envelope = JSON.parse(Buffer.from(body, "base64").toString("utf8"));
    expect(envelope).toMatchObject({
      "content-type": "application/json",
      "content-encoding": "utf-8",
      headers: { id: "layout-1", task: "tests.echo" },
      properties: { body_encoding: "base64", delivery_info: { exchange: "", routing_key: queue } },
    });
    expect(JSON.parse(Buffer.from(envelope.body, "base64").toString("utf8"))[0]).toEqual(["layout-1"]);
  });

  it("consumes what a kombu producer sends, base64 or plain JSON", async () => {
    const queue = queueName("kombu-in");
    const sqs = broker();
    await sqs.declareQueues([{ name: queue }]);
    const url = await raw.url(queue);
    const envelope = (id: string) =>
      JSON.stringify({
        body: Buffer.from(JSON.stringify([[1, 2], {}, {}])).toString("base64"),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        headers: { lang: "py", task: "tasks.add", id },
        properties: {
          body_encoding: "base64",
          delivery_info: { exchange: "", routing_key: queue },
          delivery_tag: id,
        },
      });
    await raw.client.send(
      new SendMessageCommand({ QueueUrl: url, MessageBody: Buffer.from(envelope("b64")).toString("base64") }),
    );
    await raw.client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: envelope("plain") }));
    const collector = new Collector((delivery) => delivery.ack());
    await sqs.consume([queue], collector.handler, { prefetch: 2 });
    await collector.next(2);
    expect(collector.ids.sort()).toEqual(["b64", "plain"]);
    expect(JSON.parse(new TextDecoder().decode(collector.arrivals[0]!.delivery.message.body))[0]).toEqual([
      1, 2,
    ]);
  });

  it("delays with DelaySeconds: invisible until deliverAt, then delivered", async () => {
    const queue = queueName("delay");
    const sqs = broker();
    const deliverAt = new Date(Date.now() + 1_500);
    await sqs.publish(task("delay-1"), direct(queue), { deliverAt });
    const attributes = await raw.attributes(queue, [
      "ApproximateNumberOfMessagesDelayed",
      "ApproximateNumberOfMessages",
    ]);
    expect(attributes).toMatchObject({
      ApproximateNumberOfMessagesDelayed: "1",
      ApproximateNumberOfMessages: "0",
    });
    const collector = new Collector((delivery) => delivery.ack());
    await sqs.consume([queue], collector.handler, { prefetch: 1 });
    const [arrival] = await collector.next(1);
    expect(arrival!.at).toBeGreaterThanOrEqual(deliverAt.getTime() - 25);
    expect(arrival!.delivery.redelivered).toBe(false);
  });

  it("does not create queues with skipQueueCreation, failing with TQ_CONFIG", async () => {
    const sqs = broker({ skipQueueCreation: true });
    const error = await sqs.publish(task("x"), direct(uniqueName("missing"))).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "TQ_CONFIG" });
  });

  it("uses predefined queues by URL and refuses others", async () => {
    const queue = queueName("predef");
    await broker().declareQueues([{ name: queue }]);
    const url = (await raw.url(queue))!;
    const sqs = broker({ predefinedQueues: { celery: { url } } });
    await sqs.publish(task("predef-1"), direct("celery"));
    expect(await raw.readyCount(queue)).toBe(1);
    await expect(sqs.publish(task("x"), direct("other"))).rejects.toMatchObject({ code: "TQ_CONFIG" });
  });

  it("an unreachable endpoint is TQ_CONNECTION from connect()", async () => {
    const sqs = new SqsBroker({
      ...testBrokerOptions(),
      endpoint: "http://127.0.0.1:1",
      clientConfig: { maxAttempts: 1 },
    });
    await expect(sqs.connect()).rejects.toMatchObject({ code: "TQ_CONNECTION" });
    await sqs.close();
  });
});
