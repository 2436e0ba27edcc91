// Helpers the parent side of every AMQP peer uses: the bench vhost and its queues, the result DB,
// the payload, windowed enqueue and round trips.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { buildTaskMessage, jsonSerializer } from "@tq/core";
import { Redis } from "ioredis";
import {
  enqueueWindowed as enqueueWindowedWith,
  timeRoundTrips as timeRoundTripsWith,
} from "../redis/helpers.mjs";
import { connectAmqp } from "./connect.mjs";
import { BENCH_VHOST, QUEUES, settings } from "./settings.mjs";

export { connectAmqp };

const run = promisify(execFile);

/**
 * Connects once to check RabbitMQ is there, creating the bench vhost (with guest's permissions) when
 * it is missing and the URL is the default one; returns the server's version.
 */
export async function rabbitServer() {
  let connection;
  try {
    connection = await connectAmqp();
  } catch (error) {
    // RabbitMQ closes the handshake without saying why when the vhost is missing.
    if (!settings.defaultUrl || error.code === "ECONNREFUSED" || !(await createVhost())) {
      throw new Error(
        `no RabbitMQ vhost at ${redactedUrl()} (${error.message}); start RabbitMQ, create the vhost, or set TQ_BENCH_AMQP_URL`,
      );
    }
    connection = await connectAmqp();
  }
  try {
    const version = connection.connection.serverProperties?.version;
    return { version: version ? String(version) : "unknown" };
  } finally {
    await connection.close();
  }
}

/** Creates the bench vhost with guest's permissions; false when it existed already. */
async function createVhost() {
  try {
    const { stdout } = await run("rabbitmqctl", ["list_vhosts", "--quiet", "--no-table-headers"]);
    if (stdout.split("\n").some((line) => line.trim() === BENCH_VHOST)) return false;
    await run("rabbitmqctl", ["add_vhost", BENCH_VHOST]);
    await run("rabbitmqctl", ["set_permissions", "-p", BENCH_VHOST, "guest", ".*", ".*", ".*"]);
    console.log(`  created the RabbitMQ vhost ${BENCH_VHOST} (guest may use it)`);
    return true;
  } catch (error) {
    throw new Error(
      `the vhost ${BENCH_VHOST} may be missing, and rabbitmqctl failed: ${error.stderr?.trim() || error.message}`,
    );
  }
}

/** The AMQP URL with its password hidden. */
export function redactedUrl() {
  return settings.url.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@");
}

/** Deletes every queue the bench uses (those of other vhosts are never touched). */
export async function deleteBenchQueues() {
  const connection = await connectAmqp();
  try {
    const channel = await connection.createChannel();
    // RabbitMQ answers delete-ok for a queue that does not exist, so every name can be sent.
    for (const queue of Object.values(QUEUES)) await channel.deleteQueue(queue);
    await channel.close();
  } finally {
    await connection.close();
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
    throw new Error(`no Redis at ${settings.redisUrl} (${reason}); start one or set TQ_BENCH_AMQP_REDIS_URL`);
  } finally {
    client.disconnect();
  }
}

/**
 * What tq's AMQP broker publishes for one `bench.noop(i)` task: the Celery protocol 2 body, the
 * headers as the AMQP header table and the basic properties (persistent), as @tq/amqp's codec maps
 * them. The raw ceiling publishes exactly this, so it moves the same bytes as tq.
 */
export function tqMessage() {
  const message = buildTaskMessage(
    { id: "0f4a7bd2-8c55-4c1e-9d3e-5b6a3c2d1e0f", task: "bench.noop", args: [12345], kwargs: {} },
    jsonSerializer,
  );
  const { body, properties: p } = message;
  const options = {
    headers: message.headers,
    contentType: message.contentType,
    contentEncoding: message.contentEncoding,
    deliveryMode: p.delivery_mode ?? 2,
  };
  if (typeof p.correlation_id === "string") options.correlationId = p.correlation_id;
  if (typeof p.reply_to === "string") options.replyTo = p.reply_to;
  if (typeof p.priority === "number") options.priority = p.priority;
  return { content: Buffer.from(body.buffer, body.byteOffset, body.byteLength), options };
}

/** Bytes of the message the ceiling moves: its body plus its headers as JSON (the table is about as big). */
export function payloadBytes() {
  const { content, options } = tqMessage();
  return { body: content.length, headers: Buffer.byteLength(JSON.stringify(options.headers)) };
}

/** Publishes `count` items `settings.window` at a time with `send(i)` (returns a promise); elapsed ms. */
export function enqueueWindowed(count, send) {
  return enqueueWindowedWith(count, send, settings.window);
}

/** Times `settings.roundTrips` sequential `roundTrip(i)` calls after the untimed warm-up; ms. */
export function timeRoundTrips(roundTrip) {
  return timeRoundTripsWith(roundTrip, settings.roundTrips, settings.warmup);
}
