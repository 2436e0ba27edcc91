// One run of one peer at one concurrency, for the benches after Redis (amqp, sqs, mongo), the same
// steps as ../redis/measure.mjs with a clean-up before and after:
//   0. `before` empties the broker and the result store, so every run starts empty;
//   1. the producer (this process, or Python for Celery) enqueues every task with no worker running:
//      enqueue rate = tasks / time until the broker accepted the last one;
//   2. the worker starts in a child process and drains the backlog; it reports when its first task
//      began and when the last result was stored: processing rate = tasks / that span;
//   3. every result is checked to be stored (or every message to have left the queue);
//   4. sequential round trips against the now idle worker give the latency percentiles;
//   5. the worker's peak RSS (VmHWM of its process tree) is read, it is stopped, `after` cleans up.
import { epochMs } from "./redis/settings.mjs";
import { latencySummary } from "./stats.mjs";

/**
 * @param {object} peer
 * @param {string} peer.label name in errors
 * @param {number} peer.tasks tasks to enqueue
 * @param {number} peer.concurrency worker concurrency
 * @param {() => Promise<void>} [peer.prepare] creates or declares what the producer needs, after the clean-up
 * @param {(tasks: number) => Promise<number>} peer.enqueue publishes the tasks; returns elapsed ms
 * @param {(options: {concurrency: number, expect: number}) => import("./child.mjs").WorkerChild} peer.startWorker
 * @param {() => Promise<number>} peer.countStored results (or processed messages) found
 * @param {(worker: import("./child.mjs").WorkerChild) => Promise<number[]>} peer.roundTrips latencies in ms
 * @param {object} bench
 * @param {() => Promise<void>} bench.before empties the broker and the result store
 * @param {() => Promise<void>} bench.after removes what the run left on the broker
 * @param {number} bench.drainTimeoutMs a worker that has not drained by then fails the run
 * @param {number} [bench.stopGraceMs] how long a stopping worker may take before it is killed
 * @param {boolean} [bench.countRoundTrips] records how many round trips the percentiles rest on
 */
export async function measurePeerRun(peer, bench) {
  const { label, tasks, concurrency } = peer;
  await bench.before();
  try {
    await peer.prepare?.();
    const enqueueMs = await peer.enqueue(tasks);
    const spawnedAt = epochMs();
    const worker = peer.startWorker({ concurrency, expect: tasks });
    try {
      const done = await worker.waitFor("done", bench.drainTimeoutMs);
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
        ...(bench.countRoundTrips ? { roundTrips: latencies.length } : {}),
        peakRssMb: await worker.peakRssMb(),
      };
    } finally {
      await worker.stop(bench.stopGraceMs);
    }
  } finally {
    await bench.after();
  }
}
