import { Buffer } from "node:buffer";
import { randomUUID } from "node:crypto";
import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { TransportMessage } from "@tq/core";
import { TurnBatcher } from "./batcher.js";
import type { ResolvedSqsBrokerOptions } from "./broker-options.js";
import { encodeMessageBody } from "./codec.js";
import { sqsError, wrapSdkError } from "./errors.js";
import type { QueueInfo } from "./queues.js";

/**
 * Message attribute carrying `deliverAt` (epoch ms) when SQS's own `DelaySeconds` cannot cover the
 * delay (beyond 15 minutes, or on a FIFO queue, which has no per-message delay). tq consumers keep
 * such a message invisible until then; kombu ignores message attributes.
 */
export const DELIVER_AT_ATTRIBUTE = "tq-deliver-at";

/** SQS's longest `DelaySeconds`. */
export const MAX_DELAY_SECONDS = 900;

// Messages above this go out alone (SendMessage): a batch's total payload is capped at the queue's
// maximum message size, which is 256 KiB on queues created before 2025.
const BATCH_BYTES = 256 * 1024;

/** Publishes kombu-encoded messages, batching those of one event-loop turn per queue. */
export class Publisher {
  readonly #client: SQSClient;
  readonly #options: ResolvedSqsBrokerOptions;
  readonly #batcher: TurnBatcher<SendMessageBatchRequestEntry, void>;

  constructor(client: SQSClient, options: ResolvedSqsBrokerOptions) {
    this.#client = client;
    this.#options = options;
    this.#batcher = new TurnBatcher((url, entries) => this.#sendBatch(url, entries), {
      maxEntries: 10,
      maxBytes: BATCH_BYTES,
    });
  }

  /** Sends one message to a queue; resolves once SQS accepted it. */
  async publish(
    message: TransportMessage,
    queue: QueueInfo,
    route: { exchange: string; routingKey: string },
    deliverAt: Date | undefined,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const body = encodeMessageBody(
      message,
      { ...route, deliveryTag: randomUUID() },
      this.#options.rawJsonBody,
    );
    const entry: SendMessageBatchRequestEntry = { Id: "", MessageBody: body };
    const delayMs = deliverAt ? deliverAt.getTime() - Date.now() : 0;
    if (delayMs > 0) {
      const seconds = Math.ceil(delayMs / 1000);
      if (!queue.fifo) entry.DelaySeconds = Math.min(seconds, MAX_DELAY_SECONDS);
      if (queue.fifo || seconds > MAX_DELAY_SECONDS) {
        entry.MessageAttributes = {
          [DELIVER_AT_ATTRIBUTE]: { DataType: "Number", StringValue: String(deliverAt!.getTime()) },
        };
      }
    }
    if (queue.fifo) {
      const { MessageGroupId: group, MessageDeduplicationId: dedup } = message.properties;
      entry.MessageGroupId = typeof group === "string" && group !== "" ? group : this.#options.messageGroupId;
      // A fresh id per publish, as kombu: the task id would make SQS drop a retry or an ETA hand-back
      // (same id) published within its 5-minute deduplication window.
      if (typeof dedup === "string" && dedup !== "") entry.MessageDeduplicationId = dedup;
      else if (!queue.contentDeduplication) entry.MessageDeduplicationId = randomUUID();
    }
    const size = Buffer.byteLength(body) + 64;
    if (size > BATCH_BYTES) {
      const { Id: _id, ...single } = entry;
      try {
        await this.#client.send(new SendMessageCommand({ QueueUrl: queue.url, ...single }), {
          ...(signal ? { abortSignal: signal } : {}),
        });
      } catch (error) {
        throw wrapSdkError(`publish to SQS queue "${queue.sqsName}"`, error);
      }
      return;
    }
    await this.#batcher.add(queue.url, entry, size, queue.fifo);
  }

  /** Waits for batches under way. */
  drain(): Promise<void> {
    return this.#batcher.drain();
  }

  async #sendBatch(
    url: string,
    entries: readonly SendMessageBatchRequestEntry[],
  ): Promise<(undefined | Error)[]> {
    if (entries.length === 1) {
      const { Id: _id, ...single } = entries[0]!;
      try {
        await this.#client.send(new SendMessageCommand({ QueueUrl: url, ...single }));
        return [undefined];
      } catch (error) {
        return [wrapSdkError("publish to SQS", error)];
      }
    }
    let reply: { Failed?: { Id?: string; Code?: string; Message?: string }[] };
    try {
      reply = await this.#client.send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: entries.map((entry, i) => ({ ...entry, Id: String(i) })),
        }),
      );
    } catch (error) {
      const wrapped = wrapSdkError("publish to SQS", error);
      return entries.map(() => wrapped);
    }
    const results: (undefined | Error)[] = entries.map(() => undefined);
    for (const failed of reply.Failed ?? []) {
      results[Number(failed.Id)] = sqsError(
        "TQ_CONNECTION",
        `SQS refused a message: ${failed.Code ?? "error"}: ${failed.Message ?? ""}`,
      );
    }
    return results;
  }
}
