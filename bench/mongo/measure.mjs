// One run of one peer at one concurrency, the same steps as the Redis bench (../redis/measure.mjs):
//   0. every database of the stand-in is dropped, so every run starts empty;
//   1. the producer (this process, or Python for Celery) enqueues every task with no worker running:
//      enqueue rate = tasks / time until the last insert was acknowledged;
//   2. the worker starts in a child process and drains the backlog; it reports when its first task
//      began and when the last result was stored: processing rate = tasks / that span;
//   3. every result is checked to be stored (or every message to have left the queue);
//   4. sequential round trips against the now idle worker give the latency percentiles;
//   5. the worker's peak RSS (VmHWM of its process tree) is read, it is stopped, the databases dropped.
import { latencySummary } from "../stats.mjs";
import { dropAllDatabases } from "./helpers.mjs";
import { epochMs, settings } from "./settings.mjs";

/**
 * @param {object} peer
 * @param {string} peer.label name in errors
 * @param {number} peer.tasks tasks to enqueue
 * @param {number} peer.concurrency worker concurrency
 * @param {() => Promise<void>} [peer.prepare] creates what the producer needs, after the clean-up
 * @param {(tasks: number) => Promise<number>} peer.enqueue publishes the tasks; returns elapsed ms
 * @param {(options: {concurrency: number, expect: number}) => import("../child.mjs").WorkerChild} peer.startWorker
 * @param {() => Promise<number>} peer.countStored results (or processed messages) found
 * @param {(worker: import("../child.mjs").WorkerChild) => Promise<number[]>} peer.roundTrips latencies in ms
 */
export async function measureRun(peer) {
  const { label, tasks, concurrency } = peer;
  await dropAllDatabases();
  try {
    await peer.prepare?.();
    const enqueueMs = await peer.enqueue(tasks);
    const spawnedAt = epochMs();
    const worker = peer.startWorker({ concurrency, expect: tasks });
    try {
      const done = await worker.waitFor("done", settings.drainTimeoutMs);
      const drainMs = done.lastMs - done.firstMs;
      const stored = await peer.countStored();
      if (stored !== tasks) throw new Error(`${label}: ${stored} of ${tasks} results found`);
      const latencies = await peer.roundTrips(worker);
      return {
        concurrency,
        tasks,
        enqueuePerSec: tasks / (enqueueMs / 1000),
        processPerSec: tasks / (drainMs / 1000),
        endToEndMs: enqueueMs + drainMs,
        workerStartMs: done.firstMs - spawnedAt,
        ...latencySummary(latencies),
        roundTrips: latencies.length,
        peakRssMb: await worker.peakRssMb(),
      };
    } finally {
      // The figures are taken: a worker still shutting down after a second is killed (Celery's warm
      // shutdown took over two seconds here, with nothing left to finish).
      await worker.stop(1_000);
    }
  } finally {
    await dropAllDatabases();
  }
}
