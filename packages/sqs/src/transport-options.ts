import type { CeleryOptionMapping, Logger } from "@tq/core";
import { translateTransportOptions as translate } from "@tq/core";
import type { PredefinedQueue, SqsBrokerOptions } from "./broker-options.js";
import { sqsError } from "./errors.js";

const OPTIONS = [
  "region",
  "endpoint",
  "credentials",
  "clientConfig",
  "queueNamePrefix",
  "predefinedQueues",
  "skipQueueCreation",
  "visibilityTimeoutMs",
  "visibilityRefreshIntervalMs",
  "waitTimeSeconds",
  "receiveConcurrency",
  "messageGroupId",
  "deadLetterQueue",
  "maxReceiveCount",
  "rawJsonBody",
] as const;

// kombu's SQS names (broker_transport_options) → tq's, with unit conversions.
const CELERY_NAMES: Readonly<Record<string, CeleryOptionMapping>> = {
  region: (value) => ({ region: String(value) }),
  endpoint_url: (value) => ({ endpoint: String(value) }),
  queue_name_prefix: (value) => ({ queueNamePrefix: String(value) }),
  visibility_timeout: (value) => ({ visibilityTimeoutMs: seconds("visibility_timeout", value) * 1000 }),
  wait_time_seconds: (value) => ({ waitTimeSeconds: seconds("wait_time_seconds", value) }),
  predefined_queues: (value) => ({ predefinedQueues: value as Record<string, PredefinedQueue> }),
  sqs_base64_encoding: (value) => ({ rawJsonBody: value === false }),
};

/**
 * Translates an app's `brokerTransportOptions` into {@link SqsBrokerOptions}: tq's names pass as they
 * are, kombu's are renamed and converted (seconds → ms). Unknown ones (kombu's `polling_interval`,
 * `backoff_policy`…) are reported once at warn level and ignored.
 */
export function translateTransportOptions(
  given: Readonly<Record<string, unknown>> | undefined,
  logger: Logger | undefined,
): Partial<SqsBrokerOptions> {
  return translate(given, {
    transport: "sqs",
    title: "SQS",
    known: OPTIONS,
    celeryNames: CELERY_NAMES,
    logger,
  });
}

function seconds(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw sqsError("TQ_CONFIG", `transport option ${name} must be a number of seconds`);
  }
  return value;
}
