// The raw client ceiling's worker: BENCH_CONCURRENCY connections, each a BRPOP loop with no
// bookkeeping at all. With BENCH_CEILING_STORE=1 each message also writes a result (SET + PUBLISH
// in one round trip, as Celery's Redis backend does), to show what result storage alone costs.
import { Redis } from "ioredis";
import { exitOnSignal, progressReporter, workerParams } from "./progress.mjs";
import { QUEUES, RESULT_DOC, settings } from "./settings.mjs";

const { concurrency, expect } = workerParams();
const store = process.env.BENCH_CEILING_STORE === "1";
const progress = progressReporter(expect);
const clients = Array.from(
  { length: concurrency },
  () => new Redis(settings.url, { maxRetriesPerRequest: null }),
);
let sequence = 0;
let stopping = false;

async function consume(client) {
  while (!stopping) {
    // Round-trip probes come on their own list so the drain never has to parse a payload.
    const [key] = await client.brpop(QUEUES.ceiling, QUEUES.ceilingRoundTrip, 0);
    progress.started();
    const id = sequence++;
    if (store) {
      await client
        .pipeline()
        .set(`bench.ceiling.result.${id}`, RESULT_DOC)
        .publish("bench.ceiling.results", RESULT_DOC)
        .exec();
    }
    if (key === QUEUES.ceilingRoundTrip) await client.lpush(QUEUES.ceilingReply, "1");
    else progress.finished();
  }
}

exitOnSignal(() => {
  stopping = true;
  for (const client of clients) client.disconnect();
});
for (const client of clients) {
  consume(client).catch((error) => {
    if (!stopping) throw error;
  });
}
