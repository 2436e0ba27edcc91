#!/usr/bin/env node
// Sums vitest's JSON reports (test-results.json in every package and app) into the one closing line
// CI reads: "N passed, N failed, N skipped". Turbo restores the JSON files from its cache, so a cached
// run reports the same counts as the run that produced them.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
let passed = 0;
let failed = 0;
let skipped = 0;
const missing = [];
for (const group of ["packages", "apps"]) {
  const dir = join(root, group);
  if (!existsSync(dir)) continue;
  for (const name of readdirSync(dir)) {
    const pkg = join(dir, name);
    if (!existsSync(join(pkg, "package.json"))) continue;
    const scripts = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8")).scripts ?? {};
    if (!scripts.test) continue;
    const report = join(pkg, "test-results.json");
    if (!existsSync(report)) {
      missing.push(`${group}/${name}`);
      continue;
    }
    const json = JSON.parse(readFileSync(report, "utf8"));
    passed += json.numPassedTests ?? 0;
    failed += (json.numFailedTests ?? 0) + countSuitesThatDidNotRun(json);
    skipped += (json.numPendingTests ?? 0) + (json.numTodoTests ?? 0);
  }
}
if (missing.length > 0) {
  console.log(`no test report from: ${missing.join(", ")} (counted as 1 failure each)`);
  failed += missing.length;
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);

// A test file that fails to load (syntax error, import error) has no test results of its own; count
// it as one failure so that it cannot pass unnoticed.
function countSuitesThatDidNotRun(json) {
  return (json.testResults ?? []).filter(
    (suite) =>
      suite.status === "failed" && !(suite.assertionResults ?? []).some((t) => t.status === "failed"),
  ).length;
}
