// `pnpm bench amqp`: the raw amqplib ceiling, tq and Python Celery on the same RabbitMQ (vhost
// tq-bench) with results in Redis, in the same run, at each worker concurrency; then one table with
// the ratios, and bench/results/amqp.json. The same method as the Redis bench (../redis/index.mjs).
import { cpus } from "node:os";
import { runPeers, selectsEveryPeer } from "../peer-bench.mjs";
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
  const { results, ok } = await runPeers(PEERS, settings, () => deleteBenchQueues().catch(() => {}));
  console.log("");
  const report = printReport(results, meta);
  if (!selectsEveryPeer(PEERS, settings)) {
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
