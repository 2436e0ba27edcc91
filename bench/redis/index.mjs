// `pnpm bench redis`: the raw ioredis ceiling, tq, BullMQ and Python Celery on the same Redis, in the
// same run, at each worker concurrency; then one table with the ratios, and bench/results/redis.json.
import { cpus } from "node:os";
import { Redis } from "ioredis";
import { runBullmq } from "./bullmq.mjs";
import { payloadBytes, runCeiling } from "./ceiling.mjs";
import { celeryUnavailable, celeryVersion, runCelery } from "./celery.mjs";
import { printReport, writeReport } from "./report.mjs";
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
  { key: "bullmq", label: "BullMQ", selector: "bullmq", run: runBullmq },
  { key: "celery", label: "Celery", selector: "celery", unavailable: celeryUnavailable, run: runCelery },
];

const PEER_SELECTORS = [...new Set(PEERS.map((peer) => peer.selector))];

/** Runs the Redis bench; resolves false when a run failed (the other figures are still reported). */
export async function runRedisBench() {
  const server = await redisServer();
  const celery = (await celeryUnavailable()) ? null : await celeryVersion();
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    redis: server.version,
    url: settings.url.replace(/\/\/[^@/]*@/, "//***@"),
    celery,
    tasks: settings.tasks,
    celeryTasks: settings.celeryTasks,
    concurrencies: settings.concurrencies,
    sweeps: settings.sweeps,
    roundTrips: settings.roundTrips,
    payloadBytes: payloadBytes(),
  };
  printHeader(meta);
  const results = {};
  const active = [];
  for (const peer of PEERS) {
    if (!settings.peers.includes(peer.selector)) continue;
    const reason = await peer.unavailable?.();
    results[peer.key] = { label: peer.label, ...(reason ? { skipped: reason } : {}), runs: [] };
    if (reason) console.log(`  ${peer.label}: skipped — ${reason}`);
    else active.push(peer);
  }
  // Concurrency-major, so every peer at one concurrency runs in the same minute: a burst of other load
  // on the machine then hits neighbours in the table alike rather than one peer's every run.
  let ok = true;
  const sweep = settings.concurrencies;
  for (const concurrency of Array.from({ length: settings.sweeps }, () => sweep).flat()) {
    for (const peer of active) {
      const started = performance.now();
      try {
        const run = await peer.run(concurrency);
        results[peer.key].runs.push(run);
        console.log(progressLine(peer.label, run, performance.now() - started));
      } catch (error) {
        ok = false;
        results[peer.key].runs.push({ concurrency, error: error.message });
        console.log(`  ${peer.label.padEnd(13)} c=${String(concurrency).padEnd(3)} FAILED: ${error.message}`);
      }
    }
  }
  console.log("");
  const report = printReport(results, meta);
  if (!PEER_SELECTORS.every((selector) => settings.peers.includes(selector))) {
    console.log("\n  TQ_BENCH_PEERS is set: the results file is left as it was");
  } else {
    console.log(`\n  written: ${await writeReport(report)}`);
  }
  return ok;
}

function printHeader(meta) {
  const grouped = (n) => n.toLocaleString("en-US");
  console.log(
    `tq bench — Redis ${meta.redis} at ${meta.url}, Node ${meta.node}, ${meta.cpus} CPUs, Celery ${meta.celery ?? "n/a"}`,
  );
  console.log(
    `  ${grouped(meta.tasks)} no-op tasks per run (Celery: ${grouped(meta.celeryTasks)}), results stored, one worker process, concurrency ${meta.concurrencies.join(", ")}`,
  );
  console.log(
    `  payload: tq's ${grouped(meta.payloadBytes)}-byte kombu envelope; ${grouped(meta.roundTrips)} sequential round trips per run; Celery pool: solo at 1, threads above`,
  );
}

function progressLine(label, run, elapsedMs) {
  const rate = Math.round(run.processPerSec).toLocaleString("en-US");
  return `  ${label.padEnd(13)} c=${String(run.concurrency).padEnd(3)} ${rate.padStart(7)} tasks/s processed, p50 ${run.p50Ms.toFixed(2)} ms  (${(elapsedMs / 1000).toFixed(1)} s)`;
}

/** Version of the Redis server, or a clear error when there is none at the URL. */
async function redisServer() {
  const client = new Redis(settings.url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 2_000,
  });
  // ioredis reports the refused connection as an "error" event and rejects with "Connection is closed".
  let refused;
  client.on("error", (error) => {
    refused = error;
  });
  try {
    await client.connect();
    const info = await client.info("server");
    return { version: /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown" };
  } catch (error) {
    const reason = (refused ?? error).message;
    throw new Error(`no Redis at ${settings.url} (${reason}); start one or set TQ_BENCH_REDIS_URL`);
  } finally {
    client.disconnect();
  }
}
