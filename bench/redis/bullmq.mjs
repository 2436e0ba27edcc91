// (c) BullMQ: `queue.addBulk` in windows for enqueue (its fastest producer path), the worker in
// bullmq-worker.mjs in a child process, round trips `await (await queue.add()).waitUntilFinished()`.
import { Queue, QueueEvents } from "bullmq";
import { Redis } from "ioredis";
import { spawnNodeWorker } from "../child.mjs";
import { timeRoundTrips } from "./helpers.mjs";
import { measureRun } from "./measure.mjs";
import { QUEUES, settings } from "./settings.mjs";

/** Runs BullMQ at one concurrency. */
export async function runBullmq(concurrency) {
  const connection = new Redis(settings.url, { maxRetriesPerRequest: null });
  const queue = new Queue(QUEUES.bullmq, { connection });
  try {
    return await measureRun({
      label: "bullmq",
      tasks: settings.tasks,
      concurrency,
      enqueue: async (tasks) => {
        const start = performance.now();
        for (let base = 0; base < tasks; base += settings.window) {
          const size = Math.min(settings.window, tasks - base);
          await queue.addBulk(
            Array.from({ length: size }, (_, i) => ({ name: "bench.noop", data: { i: base + i } })),
          );
        }
        return performance.now() - start;
      },
      startWorker: ({ concurrency: slots, expect }) =>
        spawnNodeWorker("bullmq worker", new URL("./bullmq-worker.mjs", import.meta.url), {
          BENCH_CONCURRENCY: String(slots),
          BENCH_EXPECT: String(expect),
        }),
      countStored: async () => (await queue.getJobCounts("completed")).completed,
      roundTrips: async () => {
        // QueueEvents reads the events stream from "now", so it sees only the round trips.
        const events = new QueueEvents(QUEUES.bullmq, { connection: { ...connection.options } });
        await events.waitUntilReady();
        try {
          return await timeRoundTrips(async (i) => {
            const job = await queue.add("bench.noop", { i });
            await job.waitUntilFinished(events, 10_000);
          });
        } finally {
          await events.close();
        }
      },
    });
  } finally {
    await queue.close();
    connection.disconnect();
  }
}
