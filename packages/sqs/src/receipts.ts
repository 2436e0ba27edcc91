import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { TurnBatcher } from "./batcher.js";
import { sqsError, wrapSdkError } from "./errors.js";

interface VisibilityEntry {
  readonly handle: string;
  readonly seconds: number;
}

/**
 * Settles received messages by receipt handle: deletes (acks) and visibility changes (requeues,
 * extensions, put-backs) of one event-loop turn go to SQS as one `…Batch` call per queue.
 */
export class Receipts {
  readonly #client: SQSClient;
  readonly #deletes: TurnBatcher<string, void>;
  readonly #changes: TurnBatcher<VisibilityEntry, void>;

  constructor(client: SQSClient) {
    this.#client = client;
    const limits = { maxEntries: 10, maxBytes: Number.POSITIVE_INFINITY };
    this.#deletes = new TurnBatcher((url, handles) => this.#deleteBatch(url, handles), limits);
    this.#changes = new TurnBatcher((url, entries) => this.#changeBatch(url, entries), limits);
  }

  /** Deletes a received message for good. */
  delete(queueUrl: string, handle: string): Promise<void> {
    return this.#deletes.add(queueUrl, handle, 0);
  }

  /** Makes a received message visible again after `seconds` (0: at once). */
  changeVisibility(queueUrl: string, handle: string, seconds: number): Promise<void> {
    return this.#changes.add(queueUrl, { handle, seconds }, 0);
  }

  /** Waits for calls under way. */
  async drain(): Promise<void> {
    await Promise.all([this.#deletes.drain(), this.#changes.drain()]);
  }

  async #deleteBatch(url: string, handles: readonly string[]): Promise<(undefined | Error)[]> {
    if (handles.length === 1) {
      return [
        await this.#single(
          "delete a message",
          new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: handles[0] }),
        ),
      ];
    }
    return this.#batch("delete messages", handles.length, () =>
      this.#client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: url,
          Entries: handles.map((handle, i) => ({ Id: String(i), ReceiptHandle: handle })),
        }),
      ),
    );
  }

  async #changeBatch(url: string, entries: readonly VisibilityEntry[]): Promise<(undefined | Error)[]> {
    if (entries.length === 1) {
      const { handle, seconds } = entries[0]!;
      return [
        await this.#single(
          "change a message's visibility",
          new ChangeMessageVisibilityCommand({
            QueueUrl: url,
            ReceiptHandle: handle,
            VisibilityTimeout: seconds,
          }),
        ),
      ];
    }
    return this.#batch("change visibility of messages", entries.length, () =>
      this.#client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: url,
          Entries: entries.map((entry, i) => ({
            Id: String(i),
            ReceiptHandle: entry.handle,
            VisibilityTimeout: entry.seconds,
          })),
        }),
      ),
    );
  }

  async #single(
    action: string,
    command: DeleteMessageCommand | ChangeMessageVisibilityCommand,
  ): Promise<undefined | Error> {
    try {
      await this.#client.send(command as DeleteMessageCommand);
      return undefined;
    } catch (error) {
      return wrapSdkError(action, error);
    }
  }

  async #batch(
    action: string,
    count: number,
    call: () => Promise<{ Failed?: { Id?: string; Code?: string; Message?: string }[] }>,
  ): Promise<(undefined | Error)[]> {
    let reply: { Failed?: { Id?: string; Code?: string; Message?: string }[] };
    try {
      reply = await call();
    } catch (error) {
      const wrapped = wrapSdkError(action, error);
      return Array.from({ length: count }, () => wrapped);
    }
    const results: (undefined | Error)[] = Array.from({ length: count }, () => undefined);
    for (const failed of reply.Failed ?? []) {
      results[Number(failed.Id)] = sqsError(
        "TQ_CONNECTION",
        `cannot ${action}: ${failed.Code ?? "error"}: ${failed.Message ?? ""}`,
      );
    }
    return results;
  }
}
