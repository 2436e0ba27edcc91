// tq's app for the SQS bench, the producer's and the worker's: built from URLs as an application's,
// sqs:// (@tq/sqs) for the stand-in and redis:// (@tq/redis) for results, since SQS keeps none.
import { createApp } from "@tq/core";
import { redisTransport } from "@tq/redis";
import { sqsTransport } from "@tq/sqs";
import { QUEUES, settings, sqsUrl } from "./settings.mjs";

/** The app with tq's defaults but for the queue name. */
export function benchApp() {
  return createApp({
    broker: sqsUrl(),
    resultBackend: settings.redisUrl,
    transports: [sqsTransport, redisTransport],
    env: false,
    taskDefaultQueue: QUEUES.tq,
  });
}
