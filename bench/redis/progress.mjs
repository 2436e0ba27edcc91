// The worker side of the stdout protocol in ../child.mjs, for the Node worker scripts.
import { epochMs } from "./settings.mjs";

/** What the parent asked of this worker process: BENCH_CONCURRENCY and BENCH_EXPECT. */
export function workerParams() {
  return {
    concurrency: Number(process.env.BENCH_CONCURRENCY ?? 1),
    expect: Number(process.env.BENCH_EXPECT ?? 0),
  };
}

/**
 * Counts finished tasks and prints {"type":"done","firstMs","lastMs"} once `expect` of them are
 * done: `started()` when a task begins, `finished()` once its result is stored.
 */
export function progressReporter(expect) {
  let firstMs = null;
  let count = 0;
  return {
    started() {
      firstMs ??= epochMs();
    },
    finished() {
      count += 1;
      if (count !== expect) return;
      process.stdout.write(`${JSON.stringify({ type: "done", firstMs, lastMs: epochMs() })}\n`);
    },
  };
}

/** Runs `cleanup` then exits 0 on SIGTERM/SIGINT, so `--cpu-prof` gets to write its profile. */
export function exitOnSignal(cleanup) {
  const onSignal = () => {
    const forced = setTimeout(() => process.exit(0), 3_000);
    forced.unref();
    Promise.resolve()
      .then(cleanup)
      .finally(() => process.exit(0));
  };
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
}
