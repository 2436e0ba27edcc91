// Figures shared by every bench: percentiles, "best over runs", number formatting, tables and the
// JSON results file.
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

/** Nearest-rank percentile (p in 0..1) of a list of numbers; null for an empty list. */
export function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil(p * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

/** p50/p95/p99 of latencies in milliseconds. */
export function latencySummary(latenciesMs) {
  return {
    p50Ms: percentile(latenciesMs, 0.5),
    p95Ms: percentile(latenciesMs, 0.95),
    p99Ms: percentile(latenciesMs, 0.99),
  };
}

/** Middle value (upper median for an even count). */
export function median(values) {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

/** Rates are better high, times and memory low: `best` picks per figure over a peer's runs. */
const HIGHER_IS_BETTER = new Set(["enqueuePerSec", "processPerSec"]);

/** Each figure's best over runs (max for rates, min for times and memory), ignoring nulls. */
export function bestOf(runs, keys) {
  const best = {};
  for (const key of keys) {
    const values = runs.map((run) => run[key]).filter((value) => typeof value === "number");
    if (values.length === 0) best[key] = null;
    else best[key] = HIGHER_IS_BETTER.has(key) ? Math.max(...values) : Math.min(...values);
  }
  return best;
}

/** A number for a table cell: thousands grouped for big values, a few significant digits for small. */
export function formatNumber(value, unit = "") {
  if (value === null || value === undefined || Number.isNaN(value)) return "n/a";
  let text;
  if (Math.abs(value) >= 1000) text = Math.round(value).toLocaleString("en-US");
  else if (Math.abs(value) >= 100) text = value.toFixed(0);
  else if (Math.abs(value) >= 10) text = value.toFixed(1);
  else text = value.toFixed(2);
  return unit ? `${text} ${unit}` : text;
}

/** `a / b` as "2.41×", or "n/a" when either side is missing. */
export function formatRatio(a, b) {
  if (typeof a !== "number" || typeof b !== "number" || b === 0) return "n/a";
  return `${(a / b).toFixed(2)}×`;
}

/** Prints rows (arrays of strings) as an aligned table; the first row is the header. */
export function printTable(rows, indent = "  ") {
  const widths = rows[0].map((_, col) => Math.max(...rows.map((row) => String(row[col] ?? "").length)));
  const line = (row) =>
    row
      .map((cell, col) => (col === 0 ? String(cell).padEnd(widths[col]) : String(cell).padStart(widths[col])))
      .join("  ");
  console.log(indent + line(rows[0]));
  console.log(indent + widths.map((width) => "-".repeat(width)).join("  "));
  for (const row of rows.slice(1)) console.log(indent + line(row));
}

/**
 * Writes `data` as pretty JSON, creating the directory. Arrays of plain values go on one line, as the
 * repository's formatter (biome) prints them, so `biome check .` passes on the results file.
 */
export async function writeJson(path, data) {
  await mkdir(dirname(path), { recursive: true });
  const text = JSON.stringify(data, null, 2).replace(
    /\[\n\s+([^[\]{}]*?)\n\s*\]/g,
    (_, items) => `[${items.split(/,\n\s*/).join(", ")}]`,
  );
  await writeFile(path, `${text}\n`);
}

/** Rounds every number in a results object to `digits` decimals so the JSON stays readable. */
export function rounded(value, digits = 3) {
  if (typeof value === "number") return Number(value.toFixed(digits));
  if (Array.isArray(value)) return value.map((item) => rounded(item, digits));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, rounded(item, digits)]));
  }
  return value;
}
