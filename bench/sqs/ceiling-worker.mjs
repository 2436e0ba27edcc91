// The raw @aws-sdk/client-sqs ceiling's worker: BENCH_CONCURRENCY receive loops on the bench queue,
// each a ReceiveMessage of up to 10 messages (long poll, tq's visibility timeout) followed by one
// DeleteMessageBatch of what it got, and nothing else. With BENCH_CEILING_STORE=1 each message also
// writes a result (SET + PUBLISH in one round trip, as Celery's Redis backend does) before its
// delete, BENCH_CONCURRENCY writes at most at once, to show what result storage alone costs. Round-trip
// probes come on a queue of their own, one more loop, and are answered on the reply queue.
import {
  DeleteMessageBatchCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import { Redis } from "ioredis";
import { exitOnSignal, progressReporter, workerParams } from "../redis/progress.mjs";
import { sqsClient } from "./connect.mjs";
import { QUEUES, RESULT_DOC, settings } from "./settings.mjs";

const { concurrency, expect } = workerParams();
const store = process.env.BENCH_CEILING_STORE === "1";
const progress = progressReporter(expect);
const redis = store ? new Redis(settings.redisUrl, { maxRetriesPerRequest: null }) : null;
// A socket for every long poll that may be waiting, and a few for deletes and replies besides.
const client = sqsClient({ sockets: concurrency + 8 });
const url = async (name) => (await client.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;
const [mainUrl, roundTripUrl, replyUrl] = await Promise.all(
  [QUEUES.ceiling, QUEUES.ceilingRoundTrip, QUEUES.ceilingReply].map(url),
);
let sequence = 0;
let writing = 0;
const writers = [];
let stopping = false;

/** One result write (SET + PUBLISH), at most `concurrency` under way at once. */
async function writeResult() {
  if (writing >= concurrency) await new Promise((resolve) => writers.push(resolve));
  writing += 1;
  try {
    await redis
      .pipeline()
      .set(`bench.ceiling.result.${sequence++}`, RESULT_DOC)
      .publish("bench.ceiling.results", RESULT_DOC)
      .exec();
  } finally {
    writing -= 1;
    writers.shift()?.();
  }
}

async function receiveLoop(queueUrl, roundTrip) {
  while (!stopping) {
    const { Messages = [] } = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: settings.waitTimeSeconds,
        VisibilityTimeout: 1800,
      }),
    );
    if (Messages.length === 0) continue;
    for (let i = 0; i < Messages.length; i++) progress.started();
    if (store) await Promise.all(Messages.map(() => writeResult()));
    const entries = Messages.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle }));
    const reply = await client.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    if (reply.Failed?.length) throw new Error(`SQS refused a delete: ${reply.Failed[0].Message}`);
    for (const message of Messages) {
      if (roundTrip)
        await client.send(new SendMessageCommand({ QueueUrl: replyUrl, MessageBody: message.Body }));
      else progress.finished();
    }
  }
}

const loops = [
  ...Array.from({ length: concurrency }, () => receiveLoop(mainUrl, false)),
  receiveLoop(roundTripUrl, true),
];
Promise.all(loops).catch((error) => {
  if (stopping) return; // the client was destroyed under a long poll
  console.error(error);
  process.exit(1);
});

exitOnSignal(async () => {
  stopping = true;
  client.destroy();
  redis?.disconnect();
});
