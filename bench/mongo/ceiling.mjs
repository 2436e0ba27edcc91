// (a) The raw mongodb-driver ceiling: tq's exact message documents inserted with insertMany, a window
// of them in flight, and drained by N concurrent claim loops, each tq's claim (`findOneAndUpdate` with
// its filter, lease and sort) followed by tq's ack (`deleteOne` by _id and owner), nothing else. It
// bounds what a task queue with tq's document layout can do from Node against this server; tq's
// processing rate is reported as a fraction of it. A second variant adds one result write per message.
import { spawnNodeWorker } from "../child.mjs";
import {
  countDocuments,
  enqueueWindowed,
  mongoClient,
  timeRoundTrips,
  tqMessageDocument,
} from "./helpers.mjs";
import { measureRun } from "./measure.mjs";
import { DATABASES, QUEUES, settings } from "./settings.mjs";

/** Runs the ceiling at one concurrency; `store` adds the per-message result write. */
export async function runCeiling(concurrency, { store = false } = {}) {
  const client = mongoClient();
  const messages = client.db(DATABASES.ceiling).collection("messages");
  const batch = settings.insertBatch;
  try {
    return await measureRun({
      label: store ? "ceiling+store" : "ceiling",
      tasks: settings.tasks,
      concurrency,
      // tq's claim index, as its broker creates it.
      prepare: async () => {
        await messages.createIndex({ queue: 1, priority: -1, visibleAt: 1 }, { name: "tq_claim" });
      },
      // The window counts messages, as for tq: settings.window / insertBatch calls in flight.
      enqueue: (tasks) =>
        enqueueWindowed(
          Math.ceil(tasks / batch),
          (call) =>
            messages.insertMany(
              Array.from({ length: Math.min(batch, tasks - call * batch) }, () =>
                tqMessageDocument(QUEUES.ceiling),
              ),
            ),
          settings.window / batch,
        ),
      startWorker: ({ concurrency: slots, expect }) =>
        spawnNodeWorker("ceiling worker", new URL("./ceiling-worker.mjs", import.meta.url), {
          BENCH_CONCURRENCY: String(slots),
          BENCH_EXPECT: String(expect),
          BENCH_CEILING_STORE: store ? "1" : "0",
        }),
      countStored: async () =>
        store
          ? countDocuments(DATABASES.ceilingResults, "celery_taskmeta", { status: "SUCCESS" })
          : settings.tasks - (await countDocuments(DATABASES.ceiling, "messages", { queue: QUEUES.ceiling })),
      // A message there, a reply back in a queue of its own, taken with findOneAndDelete every
      // millisecond until it is there, as a client polling for a result would.
      roundTrips: () =>
        timeRoundTrips(async () => {
          await messages.insertOne(tqMessageDocument(QUEUES.ceilingRoundTrip));
          for (;;) {
            if (await messages.findOneAndDelete({ queue: QUEUES.ceilingReply })) return;
            await new Promise((resolve) => setTimeout(resolve, 1));
          }
        }),
    });
  } finally {
    await client.close();
  }
}
