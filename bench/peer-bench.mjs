// What the benches after Redis share: the order of runs (runPeers, also used by amqp/index.mjs), and
// tables and results file (amqp/report.mjs): every run, then each peer's best over concurrencies with
// tq's ratios to its peers, then a line saying that no target is set. The results file has the AMQP
// bench's keys, with `note` (what the figures were measured against) and tq's `ratios` added.
import { fileURLToPath } from "node:url";
import { bestOf, formatNumber, formatRatio, printTable, rounded, writeJson } from "./stats.mjs";

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

/**
 * Runs every peer `settings.peers` selects and that is not `unavailable`, at every concurrency
 * (concurrency-major), and prints a line per run. Resolves with every run's figures (or error) per peer
 * key, and `ok` false when a run failed. `cleanUp` runs after the last run, even when one threw.
 * Shared by the AMQP bench (which reports against targets) and {@link runPeerBench}.
 * @param {{key: string, label: string, selector: string, unavailable?: () => Promise<string|null>, run: (c: number) => Promise<object>}[]} peers
 * @param {{peers: string[], concurrencies: number[], sweeps: number}} settings
 * @param {() => Promise<void>} cleanUp
 */
export async function runPeers(peers, settings, cleanUp) {
  const results = {};
  const active = [];
  for (const peer of peers) {
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
    await cleanUp();
  }
  return { results, ok };
}

/** Whether `TQ_BENCH_PEERS` selects every peer, so that the results file may be written. */
export function selectsEveryPeer(peers, settings) {
  return peers.every((peer) => settings.peers.includes(peer.selector));
}

/**
 * Runs every available peer at every concurrency (concurrency-major), prints every run and the tables,
 * and writes `results/<name>.json` unless `TQ_BENCH_PEERS` left a peer out. Resolves false when a run
 * failed (the other figures are still reported).
 * @param {object} bench
 * @param {string} bench.name the results file's name
 * @param {{key: string, label: string, selector: string, unavailable?: () => Promise<string|null>, run: (c: number) => Promise<object>}[]} bench.peers
 * @param {{peers: string[], concurrencies: number[], sweeps: number}} bench.settings
 * @param {object} bench.meta the results file's `meta`, with the `note` to print and record
 * @param {() => Promise<void>} bench.cleanUp run after the last run, even when one threw
 */
export async function runPeerBench({ name, peers, settings, meta, cleanUp }) {
  console.log(`  NOTE: ${meta.note}`);
  const { results, ok } = await runPeers(peers, settings, cleanUp);
  console.log("");
  const report = printReport(results, meta);
  if (!selectsEveryPeer(peers, settings)) {
    console.log("\n  TQ_BENCH_PEERS is set: the results file is left as it was");
  } else {
    console.log(`\n  written: ${await writeReport(report, name)}`);
  }
  return ok;
}

function progressLine(label, run, elapsedMs) {
  const rate = Math.round(run.processPerSec).toLocaleString("en-US");
  return `  ${label.padEnd(13)} c=${String(run.concurrency).padEnd(3)} ${rate.padStart(7)} tasks/s processed, p50 ${run.p50Ms.toFixed(2)} ms  (${(elapsedMs / 1000).toFixed(1)} s)`;
}

/**
 * Prints the tables; returns the results-file object: `note` (what the figures were measured against,
 * from `meta.note`) first, then the peers, tq's `ratios` and `targets` (empty: none is set), `meta`.
 */
function printReport(results, meta) {
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
  console.log(
    "  tq's targets: no target set for this transport (the issue sets none); the ratios above are the result.",
  );
  const { note, ...rest } = meta;
  return { note, ...peers, ratios: ratiosOf(peers), targets: [], meta: rest };
}

/** Writes `results/<name>.json`; returns its path. */
async function writeReport(report, name) {
  const file = fileURLToPath(new URL(`./results/${name}.json`, import.meta.url));
  await writeJson(file, rounded(report));
  return file;
}

function printRuns(peers) {
  console.log("  Every run (processing and end-to-end exclude the worker's start-up, shown apart):");
  // A bench that times round trips within a budget records how many it timed ("trips").
  const counted = Object.values(peers).some((peer) => peer.runs.some((run) => run.roundTrips !== undefined));
  const header = ["peer", "c", "tasks", "enqueue/s", "process/s", "e2e ms", "start ms"];
  const rows = [[...header, ...(counted ? ["trips"] : []), "p50 ms", "p95 ms", "p99 ms", "RSS MiB"]];
  for (const peer of Object.values(peers)) {
    for (const run of peer.runs) {
      if (run.error) {
        rows.push([peer.label, run.concurrency, "FAILED", ...Array(rows[0].length - 3).fill("")]);
        continue;
      }
      rows.push([
        peer.label + (run.pool ? ` (${run.pool})` : ""),
        run.concurrency,
        ...["tasks", "enqueuePerSec", "processPerSec", "endToEndMs", "workerStartMs"].map((key) =>
          formatNumber(run[key]),
        ),
        ...(counted ? [String(run.roundTrips ?? "")] : []),
        ...["p50Ms", "p95Ms", "p99Ms", "peakRssMb"].map((key) => formatNumber(run[key])),
      ]);
    }
  }
  printTable(rows);
  console.log("");
}

/** tq ÷ peer for one figure, as a number; null when a side is missing or not comparable. */
function ratio(peers, key, figure) {
  const tq = peers.tq;
  const peer = peers[key];
  if (!tq || tq.skipped || !peer || peer.skipped) return null;
  // End-to-end time depends on the task count; Celery may run fewer tasks.
  if (figure === "endToEndMs" && peer.tasks !== tq.tasks) return null;
  const [a, b] = [tq[figure], peer[figure]];
  return typeof a === "number" && typeof b === "number" && b !== 0 ? a / b : null;
}

/** The ratios of the "best" table, for the results file: `{ "tq/Celery": { processPerSec: 3.1, … } }`. */
function ratiosOf(peers) {
  return Object.fromEntries(
    RATIOS.map(({ key, label }) => [
      label,
      Object.fromEntries(FIGURES.map((figure) => [figure.key, ratio(peers, key, figure.key)])),
    ]),
  );
}

function printBest(peers) {
  console.log(
    "  Best over concurrencies (ratios are tq ÷ peer: above 1 is better for rates, below 1 for times and memory):",
  );
  const present = COLUMNS.filter((key) => peers[key] && !peers[key].skipped);
  const rows = [["figure", ...present.map((key) => peers[key].label), ...RATIOS.map((r) => r.label)]];
  for (const figure of FIGURES) {
    const cell = (key) => {
      const peer = peers[key];
      if (figure.key === "endToEndMs" && peer && !peer.skipped && peers.tq && peer.tasks !== peers.tq.tasks) {
        return "—";
      }
      const value = ratio(peers, key, figure.key);
      return value === null ? "n/a" : formatRatio(value, 1);
    };
    rows.push([
      figure.label,
      ...present.map((key) => formatNumber(peers[key][figure.key])),
      ...RATIOS.map(({ key }) => cell(key)),
    ]);
  }
  printTable(rows);
  console.log("");
}
