// The AMQP bench's tables and results file, laid out as the Redis bench's (../redis/report.mjs): every
// run, then each peer's best over concurrencies with tq's ratios to its peers, then tq's targets.
import { fileURLToPath } from "node:url";
import { bestOf, formatNumber, formatRatio, printTable, rounded, writeJson } from "../stats.mjs";

const FIGURES = [
  { key: "enqueuePerSec", label: "enqueue (tasks/s)" },
  { key: "processPerSec", label: "processing (tasks/s)" },
  { key: "endToEndMs", label: "end-to-end (ms)" },
  { key: "p50Ms", label: "round trip p50 (ms)" },
  { key: "p95Ms", label: "round trip p95 (ms)" },
  { key: "p99Ms", label: "round trip p99 (ms)" },
  { key: "peakRssMb", label: "worker peak RSS (MiB)" },
];
const COLUMNS = ["ceiling", "ceilingStored", "tq", "celery"];
/** tq is divided by these peers in the "best" table, in this order. */
const RATIOS = [
  { key: "celery", label: "tq/Celery" },
  { key: "ceiling", label: "tq/ceiling" },
];
const RESULTS_FILE = fileURLToPath(new URL("../results/amqp.json", import.meta.url));

/** Prints the tables; returns the results-file object. */
export function printReport(results, meta) {
  const peers = {};
  for (const key of COLUMNS) {
    const peer = results[key];
    if (!peer) continue;
    const runs = peer.runs.filter((run) => !run.error);
    const best = bestOf(
      runs,
      FIGURES.map((figure) => figure.key),
    );
    peers[key] = { label: peer.label, tasks: runs[0]?.tasks ?? null, ...best, skipped: peer.skipped ?? null };
    peers[key].runs = peer.runs;
  }
  printRuns(peers);
  printBest(peers);
  const targets = computeTargets(peers);
  printTargets(targets);
  return { ...peers, targets, meta };
}

/** Writes the results file; returns its path. */
export async function writeReport(report) {
  await writeJson(RESULTS_FILE, rounded(report));
  return RESULTS_FILE;
}

function printRuns(peers) {
  console.log("  Every run (processing and end-to-end exclude the worker's start-up, shown apart):");
  const header = ["peer", "c", "tasks", "enqueue/s", "process/s", "e2e ms", "start ms"];
  const rows = [[...header, "p50 ms", "p95 ms", "p99 ms", "RSS MiB"]];
  for (const peer of Object.values(peers)) {
    for (const run of peer.runs) {
      if (run.error) {
        rows.push([peer.label, run.concurrency, "FAILED", "", "", "", "", "", "", "", ""]);
        continue;
      }
      rows.push([
        peer.label + (run.pool ? ` (${run.pool})` : ""),
        run.concurrency,
        ...["tasks", "enqueuePerSec", "processPerSec", "endToEndMs", "workerStartMs"].map((key) =>
          formatNumber(run[key]),
        ),
        ...["p50Ms", "p95Ms", "p99Ms", "peakRssMb"].map((key) => formatNumber(run[key])),
      ]);
    }
  }
  printTable(rows);
  console.log("");
}

function printBest(peers) {
  console.log(
    "  Best over concurrencies (ratios are tq ÷ peer: above 1 is better for rates, below 1 for times and memory):",
  );
  const present = COLUMNS.filter((key) => peers[key] && !peers[key].skipped);
  const rows = [["figure", ...present.map((key) => peers[key].label), ...RATIOS.map((r) => r.label)]];
  const tq = peers.tq;
  for (const figure of FIGURES) {
    const ratio = (key) => {
      const peer = peers[key];
      if (!tq || tq.skipped || !peer || peer.skipped) return "n/a";
      // End-to-end time depends on the task count; Celery runs fewer tasks.
      if (figure.key === "endToEndMs" && peer.tasks !== tq.tasks) return "—";
      return formatRatio(tq[figure.key], peer[figure.key]);
    };
    rows.push([
      figure.label,
      ...present.map((key) => formatNumber(peers[key][figure.key])),
      ...RATIOS.map(({ key }) => ratio(key)),
    ]);
  }
  printTable(rows);
  console.log("");
}

/** tq's targets on RabbitMQ, each with its measured value (null when a side is missing). */
function computeTargets(peers) {
  const value = (key, figure) => (peers[key] && !peers[key].skipped ? peers[key][figure] : null);
  const ratio = (peer) => {
    const tq = value("tq", "processPerSec");
    const other = value(peer, "processPerSec");
    return tq === null || other === null ? null : tq / other;
  };
  return [
    { name: "processing ≥ 10× Celery", value: ratio("celery"), target: 10, unit: "×", atLeast: true },
    {
      name: "processing ≥ 70% of the raw ceiling",
      value: ratio("ceiling") === null ? null : ratio("ceiling") * 100,
      target: 70,
      unit: "%",
      atLeast: true,
    },
    { name: "round trip p50 ≤ 1 ms", value: value("tq", "p50Ms"), target: 1, unit: "ms", atLeast: false },
    { name: "round trip p99 ≤ 5 ms", value: value("tq", "p99Ms"), target: 5, unit: "ms", atLeast: false },
  ].map((target) => ({
    ...target,
    met:
      target.value === null
        ? null
        : target.atLeast
          ? target.value >= target.target
          : target.value <= target.target,
  }));
}

function printTargets(targets) {
  console.log("  tq's targets:");
  const rows = [["target", "measured", "result"]];
  for (const target of targets) {
    const separator = target.unit === "ms" ? " " : "";
    const digits = target.unit === "%" ? 0 : 2;
    const measured =
      target.value === null ? "n/a" : `${target.value.toFixed(digits)}${separator}${target.unit}`;
    rows.push([target.name, measured, target.met === null ? "not measured" : target.met ? "met" : "MISSED"]);
  }
  printTable(rows);
}
