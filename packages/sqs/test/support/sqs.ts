/**
 * Test helpers: the endpoint globalSetup started (fauxqs, or TQ_TEST_SQS_ENDPOINT), broker options
 * for it, run-unique names, and a raw SDK view of queues that bypasses the broker.
 */
import {
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type QueueAttributeName,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { inject } from "vitest";
import type { SqsBrokerOptions } from "../../src/broker-options.js";
import { sqsQueueName } from "../../src/queue-names.js";

/** The SQS endpoint of this test run. */
export function sqsEndpoint(): string {
  return inject("sqsEndpoint");
}

/** True when the tests run against the local fauxqs. */
export function onFauxqs(): boolean {
  return inject("sqsIsFauxqs");
}

/** Client settings: fauxqs takes any credentials; a real endpoint uses the environment's. */
export function clientSettings(): Pick<SqsBrokerOptions, "endpoint" | "region" | "credentials"> {
  return {
    endpoint: sqsEndpoint(),
    region: process.env.AWS_REGION ?? "us-east-1",
    ...(onFauxqs() ? { credentials: { accessKeyId: "test", secretAccessKey: "test" } } : {}),
  };
}

/** Broker options for tests: short long polls so that closing a broker takes at most a second. */
export function testBrokerOptions(extra: SqsBrokerOptions = {}): SqsBrokerOptions {
  return { ...clientSettings(), waitTimeSeconds: 1, ...extra };
}

/** A name unique to this run. */
export function uniqueName(label: string): string {
  return `tqsqs-${label}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;
}

/** A raw view of queues, by their tq names under a prefix. */
export class RawSqs {
  readonly client: SQSClient;
  readonly prefix: string;

  constructor(prefix = "") {
    this.client = new SQSClient(clientSettings());
    this.prefix = prefix;
  }

  /** The queue's URL, or undefined when it does not exist. */
  async url(queue: string): Promise<string | undefined> {
    try {
      const reply = await this.client.send(
        new GetQueueUrlCommand({ QueueName: sqsQueueName(this.prefix, queue) }),
      );
      return reply.QueueUrl;
    } catch {
      return undefined;
    }
  }

  async attributes(queue: string, names: QueueAttributeName[] = ["All"]): Promise<Record<string, string>> {
    const url = await this.url(queue);
    if (!url) return {};
    const reply = await this.client.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: names }),
    );
    return reply.Attributes ?? {};
  }

  /** ApproximateNumberOfMessages. */
  async readyCount(queue: string): Promise<number> {
    return Number(
      (await this.attributes(queue, ["ApproximateNumberOfMessages"])).ApproximateNumberOfMessages ?? 0,
    );
  }

  /** ApproximateNumberOfMessagesNotVisible. */
  async inFlightCount(queue: string): Promise<number> {
    const attributes = await this.attributes(queue, ["ApproximateNumberOfMessagesNotVisible"]);
    return Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
  }

  /** Deletes the queues (by tq name) that exist. */
  async deleteQueues(queues: readonly string[]): Promise<void> {
    await Promise.allSettled(
      queues.map(async (queue) => {
        const url = await this.url(queue);
        if (url) await this.client.send(new DeleteQueueCommand({ QueueUrl: url }));
      }),
    );
  }

  close(): void {
    this.client.destroy();
  }
}
