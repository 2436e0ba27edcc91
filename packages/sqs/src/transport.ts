import type { TransportFactoryOptions, TransportPlugin } from "@tq/core";
import { SqsBroker } from "./broker.js";
import { translateTransportOptions } from "./transport-options.js";

/**
 * The SQS transport plugin: `sqs://` URLs as brokers (SQS stores no results; pair it with a result
 * backend such as `@tq/redis`). Register it with `registerTransport(sqsTransport)` or pass it in
 * `createApp({ transports: [sqsTransport] })`; the `tq` CLI loads it by itself for `sqs://` URLs. The
 * app's `brokerTransportOptions` reach the broker under tq's names or kombu's (`region`,
 * `visibility_timeout` in seconds, `queue_name_prefix`, `predefined_queues`, …).
 */
export const sqsTransport: TransportPlugin = Object.freeze({
  name: "sqs",
  schemes: Object.freeze(["sqs"]),
  createBroker: (url: string, options: TransportFactoryOptions) =>
    new SqsBroker({
      ...translateTransportOptions(options.transportOptions, options.logger),
      url,
      ...(options.logger ? { logger: options.logger } : {}),
    }),
});
