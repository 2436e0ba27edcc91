// (a) The raw @aws-sdk/client-sqs ceiling: tq's exact message body sent with SendMessageBatch (10 a
// call, as tq batches), a window of messages in flight, and drained by N concurrent receive loops
// (ReceiveMessage of up to 10, long poll, then one DeleteMessageBatch), nothing else. It bounds what
// any SQS task queue can do from Node against this server; tq's processing rate is reported as a
// fraction of it. A second variant adds one result write per message.
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import { spawnNodeWorker } from "../child.mjs";
import { countKeys, enqueueWindowed, sqsClient, timeRoundTrips, tqMessageBody } from "./helpers.mjs";
import { measureRun } from "./measure.mjs";
import { QUEUES, settings } from "./settings.mjs";

/** SQS's largest batch, and tq's. */
const BATCH = 10;

/** Runs the ceiling at one concurrency; `store` adds the per-message result write. */
export async function runCeiling(concurrency, { store = false } = {}) {
  const body = tqMessageBody();
  const client = sqsClient();
  const urls = {};
  const sendBatch = async (size) => {
    const entries = Array.from({ length: size }, (_, i) => ({ Id: String(i), MessageBody: body }));
    const reply = await client.send(
      new SendMessageBatchCommand({ QueueUrl: urls.ceiling, Entries: entries }),
    );
    if (reply.Failed?.length) throw new Error(`SQS refused a message: ${reply.Failed[0].Message}`);
  };
  const settled = [];
  try {
    return await measureRun({
      label: store ? "ceiling+store" : "ceiling",
      tasks: settings.tasks,
      concurrency,
      // The queues as tq creates its own: the visibility timeout of tq's default (30 minutes).
      prepare: async () => {
        for (const key of ["ceiling", "ceilingRoundTrip", "ceilingReply"]) {
          const reply = await client.send(
            new CreateQueueCommand({ QueueName: QUEUES[key], Attributes: { VisibilityTimeout: "1800" } }),
          );
          urls[key] = reply.QueueUrl;
        }
      },
      // The window counts messages, as for tq: settings.window / 10 batches in flight.
      enqueue: (tasks) =>
        enqueueWindowed(
          Math.ceil(tasks / BATCH),
          (batch) => sendBatch(Math.min(BATCH, tasks - batch * BATCH)),
          settings.window / BATCH,
        ),
      startWorker: ({ concurrency: slots, expect }) =>
        spawnNodeWorker("ceiling worker", new URL("./ceiling-worker.mjs", import.meta.url), {
          BENCH_CONCURRENCY: String(slots),
          BENCH_EXPECT: String(expect),
          BENCH_CEILING_STORE: store ? "1" : "0",
        }),
      countStored: async () => {
        if (store) return countKeys("bench.ceiling.result.*");
        const { Attributes = {} } = await client.send(
          new GetQueueAttributesCommand({
            QueueUrl: urls.ceiling,
            AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
          }),
        );
        const left =
          Number(Attributes.ApproximateNumberOfMessages) +
          Number(Attributes.ApproximateNumberOfMessagesNotVisible);
        return settings.tasks - left;
      },
      // A message there, a reply back on a queue of its own, long-polled as a client waiting for a
      // result would; the reply's delete is not waited for.
      roundTrips: async () => {
        try {
          return await timeRoundTrips(async () => {
            await client.send(new SendMessageCommand({ QueueUrl: urls.ceilingRoundTrip, MessageBody: body }));
            for (;;) {
              const { Messages = [] } = await client.send(
                new ReceiveMessageCommand({
                  QueueUrl: urls.ceilingReply,
                  MaxNumberOfMessages: 1,
                  WaitTimeSeconds: settings.waitTimeSeconds,
                }),
              );
              const [reply] = Messages;
              if (!reply) continue;
              const handle = reply.ReceiptHandle;
              settled.push(
                client.send(new DeleteMessageCommand({ QueueUrl: urls.ceilingReply, ReceiptHandle: handle })),
              );
              return;
            }
          });
        } finally {
          await Promise.all(settled.splice(0));
        }
      },
    });
  } finally {
    client.destroy();
  }
}
