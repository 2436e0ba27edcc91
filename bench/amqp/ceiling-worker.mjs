// The raw amqplib ceiling's worker: one connection, one channel with `basic.qos` prefetch
// BENCH_CONCURRENCY × 4 (tq's and Celery's default prefetch multiplier), a consumer that acks every
// message and does nothing else. With BENCH_CEILING_STORE=1 each message also writes a result (SET +
// PUBLISH in one round trip, as Celery's Redis backend does) before its ack, BENCH_CONCURRENCY writes
// at most at once, to show what result storage alone costs.
import { Redis } from "ioredis";
import { exitOnSignal, progressReporter, workerParams } from "../redis/progress.mjs";
import { connectAmqp } from "./connect.mjs";
import { QUEUES, RESULT_DOC, settings } from "./settings.mjs";

const { concurrency, expect } = workerParams();
const store = process.env.BENCH_CEILING_STORE === "1";
const progress = progressReporter(expect);
const redis = store ? new Redis(settings.redisUrl, { maxRetriesPerRequest: null }) : null;
const connection = await connectAmqp("tq-bench ceiling worker");
const channel = await connection.createChannel();
await channel.prefetch(concurrency * settings.prefetchMultiplier);
let sequence = 0;
let active = 0;
const waiting = [];

// Round-trip probes come on their own queue; each is answered on the reply queue.
function settle(message, roundTrip) {
  channel.ack(message);
  if (roundTrip) channel.sendToQueue(QUEUES.ceilingReply, message.content);
  else progress.finished();
}

async function storeThenSettle(message, roundTrip) {
  active += 1;
  await redis
    .pipeline()
    .set(`bench.ceiling.result.${sequence++}`, RESULT_DOC)
    .publish("bench.ceiling.results", RESULT_DOC)
    .exec();
  settle(message, roundTrip);
  active -= 1;
  const next = waiting.shift();
  if (next) void storeThenSettle(...next);
}

function onMessage(message, roundTrip) {
  if (message === null) return; // cancelled by the server (the queue was deleted)
  progress.started();
  if (!store) settle(message, roundTrip);
  else if (active < concurrency) void storeThenSettle(message, roundTrip);
  else waiting.push([message, roundTrip]);
}

await channel.consume(QUEUES.ceiling, (message) => onMessage(message, false));
await channel.consume(QUEUES.ceilingRoundTrip, (message) => onMessage(message, true));

exitOnSignal(async () => {
  await connection.close().catch(() => {});
  redis?.disconnect();
});
