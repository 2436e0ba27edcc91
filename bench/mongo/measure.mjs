// One run of one peer at one concurrency, the same steps as the Redis bench (../redis/measure.mjs):
//   0. every database of the stand-in is dropped, so every run starts empty;
//   1. the producer (this process, or Python for Celery) enqueues every task with no worker running:
//      enqueue rate = tasks / time until the last insert was acknowledged;
//   2. the worker starts in a child process and drains the backlog; it reports when its first task
//      began and when the last result was stored: processing rate = tasks / that span;
//   3. every result is checked to be stored (or every message to have left the queue);
//   4. sequential round trips against the now idle worker give the latency percentiles;
//   5. the worker's peak RSS (VmHWM of its process tree) is read, it is stopped, the databases dropped.
import { measurePeerRun } from "../measure-run.mjs";
import { dropAllDatabases } from "./helpers.mjs";
import { settings } from "./settings.mjs";

/**
 * One run of `peer` (see ../measure-run.mjs for its fields), every database dropped before and after.
 * Round trips are time-boxed here, so the results say how many there were.
 */
export function measureRun(peer) {
  return measurePeerRun(peer, {
    before: dropAllDatabases,
    after: dropAllDatabases,
    drainTimeoutMs: settings.drainTimeoutMs,
    // The figures are taken: a worker still shutting down after a second is killed (Celery's warm
    // shutdown took over two seconds here, with nothing left to finish).
    stopGraceMs: 1_000,
    countRoundTrips: true,
  });
}
