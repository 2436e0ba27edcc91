// `pnpm bench amqp`: the raw amqplib ceiling, tq and Python Celery on the same RabbitMQ (vhost
// tq-bench) with results in Redis, in the same run, at each worker concurrency; then one table with
// the ratios, and bench/results/amqp.json. The same method as the Redis bench (../redis/index.mjs).
import { cpus } from "node:os";
import { runCeiling } from "./ceiling.mjs";
import { celeryUnavailable, celeryVersion, runCelery } from "./celery.mjs";
import { deleteBenchQueues, payloadBytes, rabbitServer, redactedUrl, redisServer } from "./helpers.mjs";
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
  { key: "celery", label: "Celery", selector: "celery", unavailable: celeryUnavailable, run: runCelery },
];

const PEER_SELECTORS = [...new Set(PEERS.map((peer) => peer.selector))];

/** Runs the AMQP bench; resolves false when a run failed (the other figures are still reported). */
export async function runAmqpBench() {
  const [rabbit, redis] = [await rabbitServer(), await redisServer()];
  const celery = (await celeryUnavailable()) ? null : await celeryVersion();
  const payload = payloadBytes();
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    rabbitmq: rabbit.version,
    redis: redis.version,
    url: redactedUrl(),
    resultUrl: settings.redisUrl.replace(/\/\/[^@/]*@/, "//***@"),
    celery,
    tasks: settings.tasks,
    celeryTasks: settings.celeryTasks,
    concurrencies: settings.concurrencies,
    sweeps: settings.sweeps,
    roundTrips: settings.roundTrips,
    prefetchMultiplier: settings.prefetchMultiplier,
    payloadBytes: payload.body,
    headerBytes: payload.headers,
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
  try {
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
          console.log(
            `  ${peer.label.padEnd(13)} c=${String(concurrency).padEnd(3)} FAILED: ${error.message}`,
          );
        }
      }
    }
  } finally {
    await deleteBenchQueues().catch(() => {});
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
    `tq bench — RabbitMQ ${meta.rabbitmq} at ${meta.url}, results in Redis ${meta.redis} at ${meta.resultUrl}, Node ${meta.node}, ${meta.cpus} CPUs, Celery ${meta.celery ?? "n/a"}`,
  );
  console.log(
    `  ${grouped(meta.tasks)} no-op tasks per run (Celery: ${grouped(meta.celeryTasks)}), results stored, one worker process, concurrency ${meta.concurrencies.join(", ")}, prefetch concurrency × ${meta.prefetchMultiplier}`,
  );
  console.log(
    `  payload: tq's Celery protocol 2 message (${grouped(meta.payloadBytes)}-byte body, headers as an AMQP table), persistent, publisher confirms; ${grouped(meta.roundTrips)} sequential round trips per run; Celery pool: solo at 1, threads above`,
  );
}

function progressLine(label, run, elapsedMs) {
  const rate = Math.round(run.processPerSec).toLocaleString("en-US");
  return `  ${label.padEnd(13)} c=${String(run.concurrency).padEnd(3)} ${rate.padStart(7)} tasks/s processed, p50 ${run.p50Ms.toFixed(2)} ms  (${(elapsedMs / 1000).toFixed(1)} s)`;
}
