// (a) The raw amqplib ceiling: tq's exact message (body, headers, persistent) published on a confirm
// channel, a window of publishes in flight, and consumed with prefetch concurrency × 4 and one ack
// each, nothing else. It bounds what any AMQP task queue can do from Node on this machine; tq's
// processing rate is reported as a fraction of it. A second variant adds one result write per message.
import { spawnNodeWorker } from "../child.mjs";
import { connectAmqp, countKeys, enqueueWindowed, timeRoundTrips, tqMessage } from "./helpers.mjs";
import { measureRun } from "./measure.mjs";
import { QUEUES, settings } from "./settings.mjs";

/** Runs the ceiling at one concurrency; `store` adds the per-message result write. */
export async function runCeiling(concurrency, { store = false } = {}) {
  const { content, options } = tqMessage();
  const connection = await connectAmqp();
  try {
    const publisher = await connection.createConfirmChannel();
    const confirmed = (queue) =>
      new Promise((resolve, reject) => {
        publisher.sendToQueue(queue, content, options, (error) => (error ? reject(error) : resolve()));
      });
    return await measureRun({
      label: store ? "ceiling+store" : "ceiling",
      tasks: settings.tasks,
      concurrency,
      // Durable queues, as tq declares its own (the messages are persistent, as tq's and Celery's).
      prepare: async () => {
        for (const queue of [QUEUES.ceiling, QUEUES.ceilingRoundTrip, QUEUES.ceilingReply]) {
          await publisher.assertQueue(queue, { durable: true });
        }
      },
      enqueue: (tasks) => enqueueWindowed(tasks, () => confirmed(QUEUES.ceiling)),
      startWorker: ({ concurrency: slots, expect }) =>
        spawnNodeWorker("ceiling worker", new URL("./ceiling-worker.mjs", import.meta.url), {
          BENCH_CONCURRENCY: String(slots),
          BENCH_EXPECT: String(expect),
          BENCH_CEILING_STORE: store ? "1" : "0",
        }),
      countStored: async () =>
        store
          ? countKeys("bench.ceiling.result.*")
          : settings.tasks - (await publisher.checkQueue(QUEUES.ceiling)).messageCount,
      roundTrips: async () => {
        // The reply is awaited on a consumer of its own, as a client waiting for a result would.
        const replies = await connection.createChannel();
        let answer = null;
        await replies.consume(QUEUES.ceilingReply, () => answer?.(), { noAck: true });
        try {
          return await timeRoundTrips(async () => {
            const replied = new Promise((resolve) => {
              answer = resolve;
            });
            await confirmed(QUEUES.ceilingRoundTrip);
            await replied;
          });
        } finally {
          await replies.close();
        }
      },
    });
  } finally {
    await connection.close();
  }
}
