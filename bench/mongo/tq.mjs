// (b) tq: the producer is this process (`noop.delay(i)`, a window of publishes in flight, each an
// insertOne of @tq/mongo's broker), the worker is tq-worker.mjs in a child process, round trips are
// `await noop.delay(i).get()`. The app is app.mjs's (mongodb:// URLs for the broker and the backend).
import { spawnNodeWorker } from "../child.mjs";
import { countDocuments, enqueueWindowed, timeRoundTrips } from "./helpers.mjs";
import { measureRun } from "./measure.mjs";
import { DATABASES, settings } from "./settings.mjs";

/** Why tq cannot run here (@tq/mongo not built), or null. */
export async function tqUnavailable() {
  try {
    const module = await import("@tq/mongo");
    return module.mongoTransport ? null : "@tq/mongo does not export mongoTransport yet";
  } catch (error) {
    return `@tq/mongo cannot be loaded (run \`pnpm exec turbo run build --filter=@tq/mongo\`): ${error.message}`;
  }
}

/** Runs tq at one concurrency. */
export async function runTq(concurrency) {
  // Loaded only now, so that tqUnavailable() can report a package that is not built.
  const { benchApp } = await import("./app.mjs");
  const app = benchApp();
  const noop = app.task("bench.noop", () => null);
  try {
    await app.connect();
    return await measureRun({
      label: "tq",
      tasks: settings.tasks,
      concurrency,
      enqueue: (tasks) => enqueueWindowed(tasks, (i) => noop.delay(i).sent),
      startWorker: ({ concurrency: slots, expect }) =>
        spawnNodeWorker("tq worker", new URL("./tq-worker.mjs", import.meta.url), {
          BENCH_CONCURRENCY: String(slots),
          BENCH_EXPECT: String(expect),
        }),
      countStored: () => countDocuments(DATABASES.tqResults, "celery_taskmeta", { status: "SUCCESS" }),
      roundTrips: () => timeRoundTrips((i) => noop.delay(i).get({ timeoutMs: 10_000 })),
    });
  } finally {
    await app.close();
  }
}
