// `pnpm bench sqs`: the raw @aws-sdk/client-sqs ceiling, tq and Python Celery on the same SQS
// stand-in (fauxqs, started in a process of its own) with results in Redis, in the same run, at each
// worker concurrency; then one table with the ratios, and bench/results/sqs.json. The same method as
// the AMQP bench (../amqp/index.mjs), run by ../peer-bench.mjs. There are no targets for SQS.
import { cpus } from "node:os";
import { runPeerBench } from "../peer-bench.mjs";
import { runCeiling } from "./ceiling.mjs";
import { celeryUnavailable, celeryVersion, runCelery, stopCeleryGateway } from "./celery.mjs";
import { deleteAllQueues, redisServer, tqMessageBody } from "./helpers.mjs";
import { fauxqsVersion, startSqsServer } from "./server.mjs";
import { settings } from "./settings.mjs";
import { runTq, tqUnavailable } from "./tq.mjs";

/** Every peer, in the order they run. `unavailable` says why one is skipped. */
const PEERS = [
  { key: "ceiling", label: "ceiling", selector: "ceiling", run: (c) => runCeiling(c) },
  {
    key: "ceilingStored",
    label: "ceiling+store",
    selector: "ceiling",
    run: (c) => runCeiling(c, { store: true }),
  },
  { key: "tq", label: "tq", selector: "tq", unavailable: tqUnavailable, run: runTq },
  { key: "celery", label: "Celery", selector: "celery", unavailable: celeryUnavailable, run: runCelery },
];

/** What the figures were measured against; printed and written to the results file. */
const NOTE =
  "measured against fauxqs, an in-memory SQS emulator in JavaScript that the bench starts in a process of its own, not against Amazon SQS: every call is an HTTP request on loopback to one Node process, which the clients share the machine's CPUs with. Absolute rates and latencies say little about AWS; the ratios between the peers of the same run are what matter.";

/** Runs the SQS bench; resolves false when a run failed (the other figures are still reported). */
export async function runSqsBench() {
  const redis = await redisServer();
  const server = await startSqsServer();
  // Every child process (workers, Celery) inherits it.
  process.env.BENCH_SQS_ENDPOINT = server.endpoint;
  try {
    const meta = {
      note: NOTE,
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      server: `fauxqs ${fauxqsVersion()}`,
      redis: redis.version,
      resultUrl: settings.redisUrl.replace(/\/\/[^@/]*@/, "//***@"),
      celery: await celeryVersion(),
      tasks: settings.tasks,
      celeryTasks: settings.celeryTasks,
      concurrencies: settings.concurrencies,
      sweeps: settings.sweeps,
      roundTrips: settings.roundTrips,
      prefetchMultiplier: settings.prefetchMultiplier,
      waitTimeSeconds: settings.waitTimeSeconds,
      payloadBytes: tqMessageBody().length,
    };
    printHeader(meta);
    return await runPeerBench({
      name: "sqs",
      peers: PEERS,
      settings,
      meta,
      cleanUp: async () => {
        await deleteAllQueues().catch(() => {});
        meta.serverPeakRssMb = await server.child.peakRssMb();
      },
    });
  } finally {
    await stopCeleryGateway();
    await server.child.stop();
    delete process.env.BENCH_SQS_ENDPOINT;
  }
}

function printHeader(meta) {
  const grouped = (n) => n.toLocaleString("en-US");
  console.log(
    `tq bench — SQS stand-in ${meta.server} (its own process), results in Redis ${meta.redis} at ${meta.resultUrl}, Node ${meta.node}, ${meta.cpus} CPUs, Celery ${meta.celery ?? "n/a"}`,
  );
  console.log(
    `  ${grouped(meta.tasks)} no-op tasks per run (Celery: ${grouped(meta.celeryTasks)}), results stored, one worker process, concurrency ${meta.concurrencies.join(", ")}, prefetch concurrency × ${meta.prefetchMultiplier}`,
  );
  console.log(
    `  payload: tq's ${grouped(meta.payloadBytes)}-byte message body (base64 kombu envelope), batches of 10, long polls of ${meta.waitTimeSeconds} s; ${grouped(meta.roundTrips)} sequential round trips per run; Celery pool: solo at 1, threads above`,
  );
}
