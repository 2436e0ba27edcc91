// Helpers the parent side of every SQS peer uses: the bench's SQS client and queue clean-up, the
// result DB, tq's exact message body, windowed enqueue and round trips.
import { DeleteQueueCommand, ListQueuesCommand } from "@aws-sdk/client-sqs";
import { buildTaskMessage, encodeEnvelope, jsonSerializer } from "@tq/core";
import { Redis } from "ioredis";
import {
  enqueueWindowed as enqueueWindowedWith,
  timeRoundTrips as timeRoundTripsWith,
} from "../redis/helpers.mjs";
import { sqsClient } from "./connect.mjs";
import { QUEUES, settings } from "./settings.mjs";

export { sqsClient };

/** Deletes every queue of the stand-in: it is the bench's own, so nothing else is touched. */
export async function deleteAllQueues() {
  const client = sqsClient();
  try {
    const { QueueUrls = [] } = await client.send(new ListQueuesCommand({}));
    await Promise.all(QueueUrls.map((url) => client.send(new DeleteQueueCommand({ QueueUrl: url }))));
  } finally {
    client.destroy();
  }
}

/** A client on the result DB; the caller closes it. */
export function redisClient() {
  return new Redis(settings.redisUrl, { maxRetriesPerRequest: null });
}

/** Empties the result DB (FLUSHDB on the URL's DB only). */
export async function flushResultDb() {
  const client = redisClient();
  try {
    await client.flushdb();
  } finally {
    client.disconnect();
  }
}

/** Counts keys matching `pattern` in the result DB with SCAN. */
export async function countKeys(pattern) {
  const client = redisClient();
  try {
    let cursor = "0";
    let count = 0;
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", pattern, "COUNT", 5_000);
      cursor = next;
      count += keys.length;
    } while (cursor !== "0");
    return count;
  } finally {
    client.disconnect();
  }
}

/** Version of the Redis server holding the results, or a clear error when there is none. */
export async function redisServer() {
  const client = new Redis(settings.redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 2_000,
  });
  let refused;
  client.on("error", (error) => {
    refused = error;
  });
  try {
    await client.connect();
    const info = await client.info("server");
    return { version: /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown" };
  } catch (error) {
    const reason = (refused ?? error).message;
    throw new Error(`no Redis at ${settings.redisUrl} (${reason}); start one or set TQ_BENCH_SQS_REDIS_URL`);
  } finally {
    client.disconnect();
  }
}

/**
 * The `MessageBody` tq's SQS broker sends for one `bench.noop(i)` task: base64 of kombu's JSON
 * envelope around the Celery protocol 2 message (kombu's default `sqs_base64_encoding`). The raw
 * ceiling sends exactly this, so it moves the same bytes as tq.
 */
export function tqMessageBody() {
  const message = buildTaskMessage(
    { id: "0f4a7bd2-8c55-4c1e-9d3e-5b6a3c2d1e0f", task: "bench.noop", args: [12345], kwargs: {} },
    jsonSerializer,
  );
  const envelope = encodeEnvelope(message, {
    exchange: "",
    routingKey: QUEUES.tq,
    deliveryTag: "5d6c7b8a-9e0f-4a1b-8c2d-3e4f5a6b7c8d",
  });
  return Buffer.from(envelope, "utf8").toString("base64");
}

/** Publishes `count` items `settings.window` at a time with `send(i)` (returns a promise); elapsed ms. */
export function enqueueWindowed(count, send, windowSize = settings.window) {
  return enqueueWindowedWith(count, send, windowSize);
}

/** Times `settings.roundTrips` sequential `roundTrip(i)` calls after the untimed warm-up; ms. */
export function timeRoundTrips(roundTrip) {
  return timeRoundTripsWith(roundTrip, settings.roundTrips, settings.warmup);
}
