import type {
  Broker,
  BrokerCapabilities,
  ConsumeOptions,
  Consumer,
  DeliveryHandler,
  MemoryBroker,
  PublishOptions,
  PublishTarget,
  QueueDeclaration,
  TransportMessage,
} from "@tq/core";

/** One publish a {@link DelegatingBroker} passed on. */
export interface PublishRecord {
  message: TransportMessage;
  target: PublishTarget;
  deliverAt: Date | undefined;
}

/**
 * A memory broker seen through other capabilities: with `delayedDelivery: false` it stands for a
 * broker without delays (Redis) — the app and the worker then see ETA messages at once. It records
 * what is published, and `failDelayedPublish` makes every delayed publish reject, as a broker that
 * lost its connection would.
 */
export class DelegatingBroker implements Broker {
  readonly capabilities: BrokerCapabilities;
  readonly inner: MemoryBroker;
  readonly published: PublishRecord[] = [];
  failDelayedPublish = false;

  constructor(inner: MemoryBroker, capabilities: Partial<BrokerCapabilities>) {
    this.inner = inner;
    this.capabilities = { ...inner.capabilities, ...capabilities };
  }

  connect(options?: { signal?: AbortSignal }): Promise<void> {
    return this.inner.connect(options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  declareQueues(queues: readonly QueueDeclaration[]): Promise<void> {
    return this.inner.declareQueues(queues);
  }

  async publish(
    message: TransportMessage,
    target: PublishTarget,
    options: PublishOptions = {},
  ): Promise<void> {
    if (options.deliverAt && this.failDelayedPublish) throw new Error("the broker went away");
    this.published.push({ message, target, deliverAt: options.deliverAt });
    // A broker without delayed delivery delivers at once, as the interface says.
    const deliverAt = this.capabilities.delayedDelivery ? options.deliverAt : undefined;
    await this.inner.publish(message, target, { ...options, ...(deliverAt ? {} : { deliverAt: undefined }) });
  }

  consume(queues: readonly string[], handler: DeliveryHandler, options: ConsumeOptions): Promise<Consumer> {
    return this.inner.consume(queues, handler, options);
  }

  purge(queue: string): Promise<number> {
    return this.inner.purge(queue);
  }

  queueLength(queue: string): Promise<number> {
    return this.inner.queueLength(queue);
  }
}
