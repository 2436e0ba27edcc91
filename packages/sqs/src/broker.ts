import {
  GetQueueAttributesCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import type {
  Broker,
  BrokerCapabilities,
  ConsumeOptions,
  Consumer,
  DeliveryHandler,
  Logger,
  PublishOptions,
  PublishTarget,
  QueueDeclaration,
  TransportMessage,
} from "@tq/core";
import {
  type ResolvedSqsBrokerOptions,
  resolveBrokerOptions,
  type SqsBrokerOptions,
} from "./broker-options.js";
import { type ConsumerContext, SqsConsumer } from "./consumer.js";
import { sqsError, throwIfAborted, wrapSdkError } from "./errors.js";
import { Publisher } from "./publisher.js";
import { isMissingQueue, QueueDirectory } from "./queues.js";
import { Receipts } from "./receipts.js";
import type { SqsDelivery } from "./sqs-delivery.js";
import { VisibilityKeeper } from "./visibility.js";

const capabilities: BrokerCapabilities = Object.freeze({
  delayedDelivery: true,
  priorities: false,
  broadcast: false,
  visibilityExtension: true,
});

/**
 * A {@link Broker} on Amazon SQS (or an SQS-compatible server) with kombu's SQS layout: queue names
 * mapped as kombu maps them, the kombu JSON envelope base64-encoded as the message body, so Python
 * Celery and tq share queues.
 *
 * Long polling, batched sends and deletes, visibility extension of held messages, FIFO queues
 * (`.fifo` names) and dead-letter redrive. Delays use `DelaySeconds` up to 15 minutes and, beyond
 * that (or on FIFO queues), a `tq-deliver-at` message attribute tq consumers honour by hiding the
 * message until it is due. No priorities and no broadcast: SQS has neither.
 */
export class SqsBroker implements Broker {
  /** Delayed delivery and visibility extension; no priorities, no broadcast. */
  readonly capabilities: BrokerCapabilities = capabilities;
  readonly #options: ResolvedSqsBrokerOptions;
  readonly #client: SQSClient;
  readonly #ownsClient: boolean;
  readonly #logger: Logger;
  readonly #queues: QueueDirectory;
  readonly #publisher: Publisher;
  readonly #receipts: Receipts;
  readonly #visibility: VisibilityKeeper;
  readonly #context: ConsumerContext;
  readonly #held = new Set<SqsDelivery>();
  readonly #consumers = new Set<SqsConsumer>();
  // Direct bindings from declareQueues: exchange → routing key → queues.
  readonly #bindings = new Map<string, Map<string, Set<string>>>();
  #connecting: Promise<void> | undefined;
  #connected = false;
  #closed = false;

  constructor(options: SqsBrokerOptions = {}) {
    const resolved = resolveBrokerOptions(options);
    this.#options = resolved;
    this.#logger = resolved.logger;
    this.#ownsClient = resolved.client === null;
    // The SDK client does no I/O until the first command.
    this.#client = resolved.client ?? new SQSClient(resolved.clientConfig);
    this.#queues = new QueueDirectory(this.#client, resolved);
    this.#publisher = new Publisher(this.#client, resolved);
    this.#receipts = new Receipts(this.#client);
    const { visibilityTimeoutMs, waitTimeSeconds, receiveConcurrency, logger } = resolved;
    this.#visibility = new VisibilityKeeper({
      receipts: this.#receipts,
      held: this.#held,
      visibilityTimeoutMs,
      intervalMs: resolved.visibilityRefreshIntervalMs,
      logger,
    });
    this.#context = {
      client: this.#client,
      queues: this.#queues,
      receipts: this.#receipts,
      held: this.#held,
      visibilityTimeoutMs,
      waitTimeSeconds,
      receiveConcurrency,
      logger,
    };
  }

  /** The SQS client (yours when you passed one). */
  get client(): SQSClient {
    return this.#client;
  }

  /**
   * Checks that SQS answers with these credentials (ListQueues, or GetQueueAttributes of a predefined
   * queue). Idempotent. Rejects with TQ_CONNECTION, TQ_TIMEOUT or TQ_CONFIG (bad credentials).
   */
  async connect(options: { signal?: AbortSignal } = {}): Promise<void> {
    this.#assertOpen();
    throwIfAborted(options.signal);
    if (this.#connected) return;
    this.#connecting ??= this.#check(options.signal).finally(() => {
      this.#connecting = undefined;
    });
    await this.#connecting;
  }

  /**
   * Stops consuming (waiting for long polls under way, at most `waitTimeSeconds`), makes every
   * unsettled delivery visible again at once, waits for batched calls, and destroys the client it
   * created (never one passed in).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#consumers].map((consumer) => consumer.cancel()));
    this.#consumers.clear();
    await this.#visibility.stop();
    const results = await Promise.allSettled([...this.#held].map((delivery) => delivery.putBack()));
    const failed = results.filter((result) => result.status === "rejected").length;
    if (failed > 0) {
      this.#logger.warn("could not put back some held messages; they return after the visibility timeout", {
        "tq.count": failed,
      });
    }
    await Promise.allSettled([this.#publisher.drain(), this.#receipts.drain()]);
    if (this.#ownsClient) this.#client.destroy();
  }

  /** Creates the queues (kombu creates them on first use too) and records direct bindings. */
  async declareQueues(queues: readonly QueueDeclaration[]): Promise<void> {
    for (const queue of queues) {
      const exchange = queue.exchange ?? queue.name;
      if (exchange === "" || (queue.exchangeType ?? "direct") !== "direct") continue;
      const byKey = this.#bindings.get(exchange) ?? new Map<string, Set<string>>();
      this.#bindings.set(exchange, byKey);
      const key = queue.routingKey ?? queue.name;
      byKey.set(key, (byKey.get(key) ?? new Set()).add(queue.name));
    }
    await this.#run("declare queues", () => Promise.all(queues.map((queue) => this.#queues.get(queue.name))));
  }

  /**
   * Sends kombu's envelope (base64) to the queue: the default exchange routes by routing key, a
   * named exchange by the direct bindings `declareQueues` recorded, else by routing key as Celery's
   * default queues (exchange and routing key named after the queue). Priorities are ignored.
   */
  async publish(
    message: TransportMessage,
    target: PublishTarget,
    options: PublishOptions = {},
  ): Promise<void> {
    throwIfAborted(options.signal);
    if (target.routingKey === "") {
      throw sqsError("TQ_CONFIG", "SQS needs the queue name as routing key");
    }
    const queues = this.#bindings.get(target.exchange)?.get(target.routingKey) ?? [target.routingKey];
    await this.#run("publish", async () => {
      for (const queue of queues) {
        const info = await this.#queues.get(queue);
        await this.#publisher.publish(message, info, target, options.deliverAt, options.signal);
      }
    });
  }

  /** Starts a consumer; deliveries beyond `prefetch` unsettled ones stay in SQS. */
  async consume(
    queues: readonly string[],
    handler: DeliveryHandler,
    options: ConsumeOptions,
  ): Promise<Consumer> {
    const { prefetch, signal } = options;
    if (!Number.isInteger(prefetch) || prefetch < 1) {
      throw sqsError("TQ_CONFIG", `prefetch must be an integer ≥ 1, got ${prefetch}`);
    }
    if (queues.length === 0) throw sqsError("TQ_CONFIG", "consume needs at least one queue");
    throwIfAborted(signal);
    const consumer = new SqsConsumer(this.#context, [...new Set(queues)], handler, prefetch);
    await this.#run("consume", () => consumer.start());
    this.#consumers.add(consumer);
    this.#visibility.start();
    const cancel = async (): Promise<void> => {
      signal?.removeEventListener("abort", onAbort);
      this.#consumers.delete(consumer);
      await consumer.cancel();
    };
    const onAbort = (): void => void cancel();
    signal?.addEventListener("abort", onAbort, { once: true });
    return { cancel };
  }

  /**
   * Deletes the ready messages of a queue by receiving and deleting them (not PurgeQueue, which
   * also drops messages consumers hold and may run once a minute only). Resolves to how many.
   */
  async purge(queue: string): Promise<number> {
    return this.#run("purge", async () => {
      const info = await this.#queues.find(queue);
      if (!info) return 0;
      let removed = 0;
      for (;;) {
        const reply = await this.#client.send(
          new ReceiveMessageCommand({
            QueueUrl: info.url,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 0,
            VisibilityTimeout: 60,
          }),
        );
        const messages = reply.Messages ?? [];
        if (messages.length === 0 && (await this.#count(info.url, "ApproximateNumberOfMessages")) === 0) {
          return removed;
        }
        await Promise.all(
          messages.map((message) => this.#receipts.delete(info.url, message.ReceiptHandle ?? "")),
        );
        removed += messages.length;
      }
    });
  }

  /** `ApproximateNumberOfMessages`: ready messages, not those held or delayed (0 for a missing queue). */
  async queueLength(queue: string): Promise<number> {
    return this.#run("count", async () => {
      const info = await this.#queues.find(queue);
      return info ? this.#count(info.url, "ApproximateNumberOfMessages") : 0;
    });
  }

  async #count(url: string, attribute: "ApproximateNumberOfMessages"): Promise<number> {
    const reply = await this.#client.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: [attribute] }),
    );
    return Number(reply.Attributes?.[attribute] ?? 0);
  }

  async #check(signal: AbortSignal | undefined): Promise<void> {
    const predefined = this.#options.predefinedQueues;
    const sendOptions = signal ? { abortSignal: signal } : {};
    try {
      const first = predefined?.values().next().value;
      if (first !== undefined) {
        await this.#client.send(
          new GetQueueAttributesCommand({ QueueUrl: first, AttributeNames: ["QueueArn"] }),
          sendOptions,
        );
      } else {
        const prefix = this.#options.queueNamePrefix;
        await this.#client.send(
          new ListQueuesCommand({ MaxResults: 1, ...(prefix ? { QueueNamePrefix: prefix } : {}) }),
          sendOptions,
        );
      }
    } catch (error) {
      throw wrapSdkError(`reach SQS at ${await this.#endpointText()}`, error);
    }
    this.#connected = true;
  }

  async #endpointText(): Promise<string> {
    try {
      const endpoint = await this.#client.config.endpoint?.();
      if (endpoint)
        return `${endpoint.protocol}//${endpoint.hostname}${endpoint.port ? `:${endpoint.port}` : ""}`;
    } catch {
      // fall through
    }
    return `the ${await this.#client.config.region().catch(() => "default")} region`;
  }

  // Runs an operation once connected; SDK errors become TqErrors.
  async #run<T>(action: string, operation: () => Promise<T>): Promise<T> {
    this.#assertOpen();
    await this.connect();
    try {
      return await operation();
    } catch (error) {
      if (isMissingQueue(error)) this.#logger.debug("an SQS queue disappeared", { error });
      throw wrapSdkError(action, error);
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw sqsError("TQ_CLOSED", "the SQS broker is closed");
  }
}

/** Creates an {@link SqsBroker}. */
export function sqsBroker(options: SqsBrokerOptions = {}): SqsBroker {
  return new SqsBroker(options);
}
