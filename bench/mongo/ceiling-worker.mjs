// The raw mongodb-driver ceiling's worker: BENCH_CONCURRENCY claim loops on the bench queue, each
// tq's claim (`findOneAndUpdate`: its filter, a lease of tq's visibility timeout, its sort) followed by
// tq's ack (`deleteOne` by _id and owner), and nothing else; a loop that finds nothing polls again
// after `ceilingPollMs` × BENCH_CONCURRENCY (the queue is empty then: the backlog was there first). With BENCH_CEILING_STORE=1 each message also writes its result as tq's
// MongoBackend does (one conditional `replaceOne` upsert into `celery_taskmeta`) before its delete, to
// show what result storage alone costs. Round-trip probes come on a queue of their own, one more loop
// polling every millisecond once the backlog is drained (every queue shares the one collection, and
// on the stand-in each poll scans it), and are answered with a document in the reply queue.
import { randomUUID } from "node:crypto";
import { exitOnSignal, progressReporter, workerParams } from "../redis/progress.mjs";
import { mongoClient, resultId, resultWrite } from "./connect.mjs";
import { DATABASES, QUEUES, settings } from "./settings.mjs";

const { concurrency, expect } = workerParams();
const store = process.env.BENCH_CEILING_STORE === "1";
const progress = progressReporter(expect);
const client = mongoClient();
await client.connect();
const messages = client.db(DATABASES.ceiling).collection("messages");
const results = client.db(DATABASES.ceilingResults).collection("celery_taskmeta");
const owner = `ceiling:${process.pid}:${randomUUID()}`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let sequence = 0;
let finished = 0;
let stopping = false;

function claim(queue) {
  const now = new Date();
  return messages.findOneAndUpdate(
    { queue, visibleAt: { $lte: now }, $or: [{ owner: null }, { deadline: { $lt: now } }] },
    {
      $set: { owner, deadline: new Date(now.getTime() + settings.visibilityTimeoutMs) },
      $inc: { deliveries: 1 },
    },
    { sort: { priority: -1, visibleAt: 1, _id: 1 }, returnDocument: "after" },
  );
}

async function claimLoop(queue, roundTrip) {
  while (!stopping) {
    const message = await claim(queue);
    if (!message) {
      await sleep(roundTrip ? 1 : settings.ceilingPollMs * concurrency);
      continue;
    }
    progress.started();
    if (store) {
      const { filter, document } = resultWrite(resultId(sequence++));
      await results.replaceOne(filter, document, { upsert: true });
    }
    await messages.deleteOne({ _id: message._id, owner });
    if (roundTrip) {
      const { _id, ...reply } = message;
      await messages.insertOne({ ...reply, queue: QUEUES.ceilingReply, owner: null, deadline: null });
    } else {
      progress.finished();
      finished += 1;
      if (finished === expect) void claimLoop(QUEUES.ceilingRoundTrip, true).catch(failed);
    }
  }
}

function failed(error) {
  if (stopping) return; // the client was closed under a command
  console.error(error);
  process.exit(1);
}

for (let i = 0; i < concurrency; i++) void claimLoop(QUEUES.ceiling, false).catch(failed);

exitOnSignal(async () => {
  stopping = true;
  await client.close(true);
});
