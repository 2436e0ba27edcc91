// `pnpm bench mongo`: the raw mongodb-driver ceiling, tq and Python Celery on the same MongoDB
// stand-in (@tq/mongo-test-server, started in a process of its own), results stored in it too, in the
// same run, at each worker concurrency; then one table with the ratios, and bench/results/mongo.json.
// The same method as the AMQP bench (../amqp/index.mjs), run by ../peer-bench.mjs. No targets.
import { cpus } from "node:os";
import { runPeerBench } from "../peer-bench.mjs";
import { runCeiling } from "./ceiling.mjs";
import { celeryUnavailable, celeryVersion, runCelery } from "./celery.mjs";
import { dropAllDatabases, serverInfo } from "./helpers.mjs";
import { startMongoServer } from "./server.mjs";
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
  "measured against @tq/mongo-test-server, this repository's in-memory MongoDB wire-protocol stand-in in JavaScript (no query planner: every query scans; no change streams, so every peer waits by polling), which the bench starts in a process of its own, not against mongod. Absolute rates and latencies say little about MongoDB; the ratios between the peers of the same run are what matter.";

/** Runs the MongoDB bench; resolves false when a run failed (the other figures are still reported). */
export async function runMongoBench() {
  const server = await startMongoServer();
  // Every child process (workers, Celery) inherits it.
  process.env.BENCH_MONGO_URL = server.url;
  try {
    const info = await serverInfo();
    const meta = {
      note: NOTE,
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      server: `@tq/mongo-test-server (reports MongoDB ${info.version}${info.standIn ? "" : "; NOT the stand-in"})`,
      celery: await celeryVersion(),
      tasks: settings.tasks,
      celeryTasks: settings.celeryTasks,
      concurrencies: settings.concurrencies,
      sweeps: settings.sweeps,
      roundTrips: settings.roundTrips,
      roundTripBudgetMs: settings.roundTripBudgetMs,
      prefetchMultiplier: settings.prefetchMultiplier,
      insertBatch: settings.insertBatch,
    };
    printHeader(meta);
    return await runPeerBench({
      name: "mongo",
      peers: PEERS,
      settings,
      meta,
      cleanUp: async () => {
        await dropAllDatabases().catch(() => {});
        meta.serverPeakRssMb = await server.child.peakRssMb();
      },
    });
  } finally {
    await server.child.stop();
    delete process.env.BENCH_MONGO_URL;
  }
}

function printHeader(meta) {
  const grouped = (n) => n.toLocaleString("en-US");
  console.log(
    `tq bench — MongoDB stand-in ${meta.server}, its own process, Node ${meta.node}, ${meta.cpus} CPUs, Celery ${meta.celery ?? "n/a"}`,
  );
  console.log(
    `  ${grouped(meta.tasks)} no-op tasks per run (Celery: ${grouped(meta.celeryTasks)}), results stored, one worker process, concurrency ${meta.concurrencies.join(", ")}, prefetch concurrency × ${meta.prefetchMultiplier}`,
  );
  console.log(
    `  payload: tq's message document (ceiling: insertMany of ${meta.insertBatch}); up to ${grouped(meta.roundTrips)} sequential round trips per run, at most ${meta.roundTripBudgetMs / 1000} s of them; Celery pool: solo at 1, threads above`,
  );
}
