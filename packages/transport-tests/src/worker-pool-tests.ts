import { mkdtempSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type App, KNOWN_TRANSPORT_PACKAGES, schemeOf, TaskFailedError } from "@tq/core";
import type { PoolChildSetup, Worker, WorkerOptions } from "@tq/worker";
import { expect } from "vitest";
import { eventually } from "./wait.js";
import type { WorkerHarness } from "./worker-harness.js";
import type { DefineWorkerTest } from "./worker-suite.js";

// The app module the children load: a plain ESM file, found from src/ and from dist/ alike.
// Next to this module in src/ and, copied by the build, in dist/.
const POOL_APP = new URL("./fixtures/pool-app.mjs", import.meta.url);

interface PoolFixture {
  registerSuitePoolTasks(app: App): App;
}

interface WhoAmI {
  pid: number;
  threadId: number;
  id: string;
  args: unknown[];
  parentId: string | null;
  rootId: string;
}

/**
 * The pools and time limits (Celery's `-P`, `--time-limit`, `--soft-time-limit`, `--max-tasks-per-child`,
 * `--autoscale`, `reject_on_worker_lost`) with tasks sent through the broker: a CPU-bound task stopped
 * by its hard limit in a thread and in a process, a process killed with SIGKILL mid-task redelivered
 * exactly once more, soft limits, recycling, autoscale, Retry and Reject from a child, and a child
 * sending a subtask (on brokers the children can reach by URL).
 */
export function registerPoolWorkerTests(defineTest: DefineWorkerTest): void {
  for (const pool of ["threads", "processes"] as const) {
    defineTest(
      `${pool} pool: a CPU-bound task is stopped by its hard time limit, then the next task runs`,
      async (harness) => {
        const { app } = await startPoolWorker(harness, { pool });
        const error = await failureOf(
          app.sendTask("suite.pool.spin", [], {}, { timeLimit: 1 }).get(wait(harness)),
        );
        expect(error.excType).toBe("TimeLimitExceeded");
        expect(await app.sendTask("suite.pool.add", [2, 3]).get(wait(harness))).toBe(5);
      },
    );
  }

  defineTest(
    "processes pool: a child killed with SIGKILL is replaced and its acks-late task runs exactly once more",
    async (harness) => {
      const { app } = await startPoolWorker(harness, { pool: "processes" });
      const file = runsFile();
      const result = app.sendTask<string>("suite.pool.markedRequeued", [file, 3_000]);
      await eventually(
        () => runsIn(file).length === 1,
        harness.options.timeoutMs * 3,
        "the task's first run",
      );
      const [pid] = runsIn(file);
      process.kill(pid!, "SIGKILL");
      expect(await result.get(wait(harness))).toBe("finished");
      const runs = runsIn(file);
      expect(runs).toHaveLength(2);
      expect(runs[1]).not.toBe(pid);
    },
  );

  defineTest(
    "processes pool: without rejectOnWorkerLost a task whose child was killed fails with WorkerLostError",
    async (harness) => {
      const { app } = await startPoolWorker(harness, { pool: "processes" });
      const file = runsFile();
      const result = app.sendTask("suite.pool.marked", [file, 30_000]);
      await eventually(
        () => runsIn(file).length === 1,
        harness.options.timeoutMs * 3,
        "the task's first run",
      );
      const [pid] = runsIn(file);
      process.kill(pid!, "SIGKILL");
      const error = await failureOf(result.get(wait(harness)));
      expect(error).toMatchObject({ excType: "WorkerLostError", excModule: "billiard.exceptions" });
      expect(String(error.excMessage[0])).toMatch(
        /^Worker exited prematurely: signal 9 \(SIGKILL\) Job: \d+\.$/,
      );
      expect(await app.sendTask("suite.pool.add", [1, 1]).get(wait(harness))).toBe(2);
      expect(runsIn(file)).toHaveLength(1);
    },
  );

  for (const pool of ["async", "threads"] as const) {
    defineTest(
      `${pool} pool: the soft time limit aborts the signal; caught the task returns, uncaught it fails`,
      async (harness) => {
        const { app } = await startPoolWorker(harness, { pool, concurrency: 2 });
        const caught = app.sendTask("suite.pool.softCaught", [], {}, { softTimeLimit: 0.3 });
        const uncaught = app.sendTask("suite.pool.softUncaught", [], {}, { softTimeLimit: 0.3 });
        expect(await caught.get(wait(harness))).toBe("caught SoftTimeLimitExceeded");
        const error = await failureOf(uncaught.get(wait(harness)));
        expect(error).toMatchObject({ excType: "SoftTimeLimitExceeded", excModule: "celery.exceptions" });
      },
    );
  }

  defineTest("processes pool: maxTasksPerChild replaces each child after its tasks", async (harness) => {
    const { app } = await startPoolWorker(harness, { pool: "processes", maxTasksPerChild: 1 });
    const pids = new Set<number>();
    for (let i = 0; i < 3; i++) {
      pids.add((await app.sendTask<WhoAmI>("suite.pool.whoami", []).get(wait(harness))).pid);
    }
    expect(pids.size).toBe(3);
  });

  defineTest(
    "processes pool: autoscale grows the pool while tasks wait and shrinks it when idle",
    async (harness) => {
      const { app, worker } = await startPoolWorker(harness, {
        pool: "processes",
        autoscale: [3, 1],
        autoscaleKeepaliveMs: 300,
      });
      expect(worker.stats().pool.processes).toHaveLength(1);
      const results = Array.from({ length: 3 }, () => app.sendTask("suite.pool.sleep", [3_000]));
      const long = harness.options.timeoutMs * 3;
      const grown = (): boolean => worker.stats().pool.processes.length === 3 && worker.stats().running === 3;
      await eventually(grown, long, "three processes running the three tasks");
      await Promise.all(results.map((result) => result.get(wait(harness))));
      await eventually(
        () => worker.stats().pool.processes.length === 1,
        long,
        "the pool back to one process",
      );
    },
  );

  defineTest(
    "processes pool: Retry and Reject thrown in a child act as in the async pool",
    async (harness) => {
      const { app, worker } = await startPoolWorker(harness, { pool: "processes" });
      const rejected: boolean[] = [];
      worker.on("task-rejected", ({ requeue }) => rejected.push(requeue));
      expect(await app.sendTask("suite.pool.retryOnce", []).get(wait(harness))).toBe("retried 1");
      app.sendTask("suite.pool.reject", []);
      await eventually(() => rejected.length === 1, harness.options.timeoutMs, "the task-rejected event");
      expect(rejected).toEqual([false]);
    },
  );

  defineTest("processes pool: currentTask() in a child has the task's id and arguments", async (harness) => {
    const { app } = await startPoolWorker(harness, { pool: "processes" });
    const result = app.sendTask<WhoAmI>("suite.pool.whoami", [7, "x"]);
    const who = await result.get(wait(harness));
    expect(who).toMatchObject({ id: result.id, args: [7, "x"], rootId: result.id });
    expect(who.pid).not.toBe(process.pid);
  });

  defineTest(
    "processes pool: a task sends a subtask from its child and waits for its result",
    async (harness, context) => {
      // The children connect by URL; an in-memory broker cannot be reached from another process.
      if (harness.options.brokerUrl === undefined || harness.options.backendUrl === undefined) {
        context.skip();
      }
      const { app } = await startPoolWorker(harness, { pool: "processes", concurrency: 2 });
      const result = app.sendTask<{ id: string; sum: number; child: WhoAmI }>("suite.pool.parent", [2, 40]);
      const outcome = await result.get(wait(harness));
      expect(outcome.sum).toBe(42);
      expect(outcome.child).toMatchObject({ args: [2, 40], parentId: result.id, rootId: result.id });
    },
  );
}

async function startPoolWorker(
  harness: WorkerHarness,
  options: WorkerOptions,
): Promise<{ app: App; worker: Worker }> {
  const { registerSuitePoolTasks } = (await import(POOL_APP.href)) as PoolFixture;
  const app = registerSuitePoolTasks(harness.makeApp());
  const worker = await harness.startWorker(app, {
    concurrency: 1,
    appModule: POOL_APP,
    childSetup: childSetup(harness),
    ...options,
  });
  return { app, worker };
}

// The children's app uses the suite's URLs, and registers the transports that serve them.
function childSetup(harness: WorkerHarness): PoolChildSetup {
  const { brokerUrl, backendUrl, childTransports } = harness.options;
  if (brokerUrl === undefined) return {};
  const urls = backendUrl === undefined ? [brokerUrl] : [brokerUrl, backendUrl];
  return {
    brokerUrl,
    resultBackend: backendUrl ?? null,
    transports: childTransports ?? urls.flatMap(transportFor),
  };
}

function transportFor(url: string): { module: string; exportName: string }[] {
  const known = KNOWN_TRANSPORT_PACKAGES[schemeOf(url)];
  if (!known) return [];
  const require = createRequire(join(process.cwd(), "package.json"));
  return [{ module: pathToFileURL(require.resolve(known.package)).href, exportName: known.exportName }];
}

function wait(harness: WorkerHarness): { timeout: number } {
  // Children start and load the app first: give them more than a plain result wait.
  return { timeout: harness.options.timeoutMs * 3 };
}

async function failureOf(promise: Promise<unknown>): Promise<TaskFailedError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(TaskFailedError);
  return error as TaskFailedError;
}

let scratch: string | undefined;
function runsFile(): string {
  scratch ??= mkdtempSync(join(tmpdir(), "tq-pool-suite-"));
  return join(scratch, `${Math.random().toString(36).slice(2)}.txt`);
}

function runsIn(file: string): number[] {
  try {
    return readFileSync(file, "utf8").split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
