// One run of one peer at one concurrency, the same steps as the Redis bench (../redis/measure.mjs):
//   0. every queue of the stand-in is deleted and the result DB flushed, so every run starts empty;
//   1. the producer (this process, or Python for Celery) enqueues every task with no worker running:
//      enqueue rate = tasks / time until SQS accepted the last message;
//   2. the worker starts in a child process and drains the backlog; it reports when its first task
//      began and when the last result was stored: processing rate = tasks / that span;
//   3. every result is checked to be in Redis (or every message to have left the queue);
//   4. sequential round trips against the now idle worker give the latency percentiles;
//   5. the worker's peak RSS (VmHWM of its process tree) is read, it is stopped, the queues deleted.
import { measurePeerRun } from "../measure-run.mjs";
import { deleteAllQueues, flushResultDb } from "./helpers.mjs";
import { settings } from "./settings.mjs";

/** One run of `peer` (see ../measure-run.mjs for its fields): queues deleted and results flushed first. */
export function measureRun(peer) {
  return measurePeerRun(peer, {
    before: () => Promise.all([deleteAllQueues(), flushResultDb()]),
    after: deleteAllQueues,
    drainTimeoutMs: settings.drainTimeoutMs,
  });
}
