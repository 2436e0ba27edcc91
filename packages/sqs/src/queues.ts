import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type QueueAttributeName,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { ResolvedSqsBrokerOptions } from "./broker-options.js";
import { sqsError, wrapSdkError } from "./errors.js";
import { isFifoName, sqsQueueName } from "./queue-names.js";

/** An SQS queue behind a tq queue name. */
export interface QueueInfo {
  /** The tq (Celery) queue name. */
  readonly name: string;
  /** Its SQS name (prefix + kombu's mapping). */
  readonly sqsName: string;
  readonly url: string;
  readonly fifo: boolean;
  /** FIFO queue with `ContentBasedDeduplication`: SQS derives deduplication ids itself. */
  readonly contentDeduplication: boolean;
}

/**
 * Finds (and, unless told not to, creates) the SQS queue behind a tq queue name, caching its URL as
 * kombu's `_queue_cache` does. Created queues get the broker's visibility timeout, `FifoQueue` for
 * `.fifo` names, and the dead-letter redrive policy when one is configured.
 */
export class QueueDirectory {
  readonly #client: SQSClient;
  readonly #options: ResolvedSqsBrokerOptions;
  readonly #cache = new Map<string, Promise<QueueInfo | undefined>>();

  constructor(client: SQSClient, options: ResolvedSqsBrokerOptions) {
    this.#client = client;
    this.#options = options;
  }

  /** The SQS name of a tq queue. */
  sqsName(queue: string): string {
    return sqsQueueName(this.#options.queueNamePrefix, queue);
  }

  /** The queue, created when missing (unless predefined queues or `skipQueueCreation` forbid it). */
  async get(queue: string): Promise<QueueInfo> {
    const info = await this.#lookup(queue, true);
    if (!info) throw sqsError("TQ_CONFIG", `SQS queue "${this.sqsName(queue)}" does not exist`);
    return info;
  }

  /** The queue if it exists; never creates it. */
  find(queue: string): Promise<QueueInfo | undefined> {
    return this.#lookup(queue, false);
  }

  /** Forgets a cached URL (after SQS said the queue is gone). */
  forget(queue: string): void {
    this.#cache.delete(queue);
  }

  #lookup(queue: string, create: boolean): Promise<QueueInfo | undefined> {
    const cached = this.#cache.get(queue);
    if (cached) {
      // A miss without creating is not final: someone may create the queue later.
      return create ? cached.then((info) => info ?? this.#fresh(queue, create)) : cached;
    }
    return this.#fresh(queue, create);
  }

  #fresh(queue: string, create: boolean): Promise<QueueInfo | undefined> {
    const pending = this.#resolve(queue, create).then(
      (info) => {
        if (!info) this.#cache.delete(queue);
        return info;
      },
      (error: unknown) => {
        this.#cache.delete(queue);
        throw error;
      },
    );
    this.#cache.set(queue, pending);
    return pending;
  }

  async #resolve(queue: string, create: boolean): Promise<QueueInfo | undefined> {
    const sqsName = this.sqsName(queue);
    const predefined = this.#options.predefinedQueues;
    if (predefined) {
      const url = predefined.get(queue) ?? predefined.get(sqsName);
      if (url === undefined) {
        throw sqsError("TQ_CONFIG", `queue "${queue}" is not among the predefined queues`);
      }
      return this.#describe(queue, sqsName, url);
    }
    let url = await this.#urlOf(sqsName);
    if (url === undefined) {
      if (!create || this.#options.skipQueueCreation) return undefined;
      url = await this.#create(sqsName);
    }
    return this.#describe(queue, sqsName, url);
  }

  async #urlOf(sqsName: string): Promise<string | undefined> {
    try {
      const reply = await this.#client.send(new GetQueueUrlCommand({ QueueName: sqsName }));
      return reply.QueueUrl;
    } catch (error) {
      if (isMissingQueue(error)) return undefined;
      throw wrapSdkError(`look up SQS queue "${sqsName}"`, error);
    }
  }

  async #create(sqsName: string): Promise<string> {
    const fifo = isFifoName(sqsName);
    const attributes: Partial<Record<QueueAttributeName, string>> = {
      VisibilityTimeout: String(Math.ceil(this.#options.visibilityTimeoutMs / 1000)),
      ...(fifo ? { FifoQueue: "true" } : {}),
    };
    const deadLetter = this.#options.deadLetterQueue;
    if (deadLetter !== null && this.sqsName(deadLetter) !== sqsName) {
      const dlq = await this.get(deadLetter);
      const arn = await this.#attribute(dlq.url, "QueueArn");
      attributes.RedrivePolicy = JSON.stringify({
        deadLetterTargetArn: arn,
        maxReceiveCount: this.#options.maxReceiveCount,
      });
    }
    try {
      const reply = await this.#client.send(
        new CreateQueueCommand({ QueueName: sqsName, Attributes: attributes }),
      );
      if (!reply.QueueUrl) throw new Error("CreateQueue returned no QueueUrl");
      return reply.QueueUrl;
    } catch (error) {
      throw wrapSdkError(`create SQS queue "${sqsName}"`, error);
    }
  }

  async #describe(name: string, sqsName: string, url: string): Promise<QueueInfo> {
    const fifo = isFifoName(sqsName) || url.endsWith(".fifo");
    const contentDeduplication = fifo && (await this.#attribute(url, "ContentBasedDeduplication")) === "true";
    return { name, sqsName, url, fifo, contentDeduplication };
  }

  async #attribute(url: string, name: QueueAttributeName): Promise<string | undefined> {
    try {
      const reply = await this.#client.send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: [name] }),
      );
      return reply.Attributes?.[name];
    } catch (error) {
      throw wrapSdkError(`read attribute ${name} of ${url}`, error);
    }
  }
}

/** SQS's "no such queue" error, under the names the JSON and query protocols give it. */
export function isMissingQueue(error: unknown): boolean {
  const name = (error as { name?: string; Code?: string })?.name ?? "";
  return name === "QueueDoesNotExist" || name === "AWS.SimpleQueueService.NonExistentQueue";
}
