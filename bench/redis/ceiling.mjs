// (a) The raw ioredis ceiling: LPUSH + BRPOP of the same envelope tq stores, nothing else. It bounds
// what any Redis list queue can do from Node on this machine; tq's processing rate is reported as a
// fraction of it. A second variant adds one result write per message.
import { Redis } from "ioredis";
import { spawnNodeWorker } from "../child.mjs";
import { benchClient, countKeys, enqueueWindowed, timeRoundTrips, tqEnvelope } from "./helpers.mjs";
import { measureRun } from "./measure.mjs";
import { QUEUES, settings } from "./settings.mjs";

/** Runs the ceiling at one concurrency; `store` adds the per-message result write. */
export async function runCeiling(concurrency, { store = false } = {}) {
  const payload = tqEnvelope(QUEUES.ceiling);
  const client = benchClient();
  try {
    return await measureRun({
      label: store ? "ceiling+store" : "ceiling",
      tasks: settings.tasks,
      concurrency,
      enqueue: (tasks) => enqueueWindowed(tasks, () => client.lpush(QUEUES.ceiling, payload)),
      startWorker: ({ concurrency: workers, expect }) =>
        spawnNodeWorker("ceiling worker", new URL("./ceiling-worker.mjs", import.meta.url), {
          BENCH_CONCURRENCY: String(workers),
          BENCH_EXPECT: String(expect),
          BENCH_CEILING_STORE: store ? "1" : "0",
        }),
      countStored: async () =>
        store ? countKeys("bench.ceiling.result.*") : settings.tasks - (await client.llen(QUEUES.ceiling)),
      roundTrips: () => {
        // The reply is awaited on its own connection, as a client waiting for a result would.
        const replies = new Redis(settings.url, { maxRetriesPerRequest: null });
        return timeRoundTrips(async () => {
          await client.lpush(QUEUES.ceilingRoundTrip, payload);
          await replies.brpop(QUEUES.ceilingReply, 0);
        }).finally(() => replies.disconnect());
      },
    });
  } finally {
    client.disconnect();
  }
}

/** Size in bytes of the envelope every Node peer's ceiling moves, printed in the header. */
export function payloadBytes() {
  return Buffer.byteLength(tqEnvelope(QUEUES.ceiling));
}
