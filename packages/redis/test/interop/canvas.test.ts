/**
 * Canvas across runtimes on one Redis (DB 10, queues of this run only, nothing flushed): Python Celery
 * 5.2 builds chains and chords that tq workers run, tq builds chains and chords that Python workers
 * run, and a chord whose header runs on both is finished once by whichever worker records the last
 * part. Results are read back on both sides.
 */
import path from "node:path";
import {
  type App,
  type AsyncResult,
  chain,
  chord,
  createApp,
  type GroupResult,
  signature,
  xstarmap,
} from "@tq/core";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisTransport } from "../../src/index.js";
import { ManagedProcess, PACKAGE_DIR, runCommand, stopAll } from "../support/interop-processes.js";
import { PYTHON, PYTHON_DIR } from "../support/interop-python.js";
import { removeQueue, startTqWorker, testRedisUrl } from "../support/interop-tq.js";

const url = testRedisUrl(10);
const tqQueue = `interop.canvas.tq.${process.pid}`;
const pyQueue = `interop.canvas.py.${process.pid}`;
const journalPrefix = `interop.canvas.journal.${process.pid}`;
const TQ_CANVAS_APP = path.join(PACKAGE_DIR, "test/interop/tq-canvas-app.ts");
const WAIT = { timeout: 40 };

let app: App;
let redis: Redis;
let journals = 0;

function pythonEnv(queue: string): Record<string, string> {
  return {
    PYTHONPATH: PYTHON_DIR,
    PYTHONUNBUFFERED: "1",
    PYTHONIOENCODING: "utf-8",
    TQ_INTEROP_BROKER_URL: url,
    TQ_INTEROP_RESULT_BACKEND: url,
    TQ_INTEROP_QUEUE: queue,
  };
}

/** What canvas_client.py printed for one step. */
type Outcome =
  | { id: string; ok: true; state: string; result: unknown; parent_id: string | null }
  | {
      id: string;
      ok: false;
      state: string;
      exc_class: string;
      message: string;
      stored_class: string;
      stored_message: string;
      parent_id: string | null;
    };

/** Runs canvas_client.py with workflows sent to `queue` (or results to read); one outcome per step. */
async function runCanvasClient(queue: string, steps: readonly Record<string, unknown>[]): Promise<Outcome[]> {
  const run = await runCommand(PYTHON, [path.join(PYTHON_DIR, "canvas_client.py"), JSON.stringify(steps)], {
    cwd: PYTHON_DIR,
    env: pythonEnv(queue),
    timeoutMs: 90_000,
  });
  if (run.status !== 0)
    throw new Error(`canvas_client.py exited with ${run.status}:\n${run.stderr}\n${run.stdout}`);
  return run.stdout
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Outcome);
}

function journalKey(): string {
  journals += 1;
  return `${journalPrefix}.${journals}`;
}

async function journal(key: string, count: number): Promise<string[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const entries = await redis.lrange(key, 0, -1);
    if (entries.length >= count || Date.now() > deadline) return entries;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const add = (x: number, y?: number) =>
  signature<number>("tasks.add", { args: y === undefined ? [x] : [x, y], app });

beforeAll(async () => {
  redis = new Redis(url, { maxRetriesPerRequest: 1 });
  await startTqWorker({
    app: TQ_CANVAS_APP,
    broker: url,
    resultBackend: url,
    queues: [tqQueue],
    hostname: "tq-canvas@test",
    // The steps a worker sends go to its default queue unless they name one, as with Celery.
    env: { TQ_TASK_DEFAULT_QUEUE: tqQueue },
  });
  const python = new ManagedProcess(
    "celery worker",
    PYTHON,
    [
      "-m",
      "celery",
      "-A",
      "canvas_app",
      "worker",
      "--pool=solo",
      "-l",
      "info",
      "--without-gossip",
      "--without-mingle",
      "--without-heartbeat",
      "-Q",
      pyQueue,
      "-n",
      `py-canvas-${process.pid}@%h`,
    ],
    { cwd: PYTHON_DIR, env: pythonEnv(pyQueue) },
  );
  await python.waitForOutput(/ ready\.\s*$/m, 30_000);
  app = createApp({
    name: "canvas-interop",
    broker: url,
    resultBackend: url,
    transports: [redisTransport],
    taskDefaultQueue: pyQueue,
    env: false,
  });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await stopAll();
  await removeQueue(url, tqQueue);
  await removeQueue(url, pyQueue);
  const keys = await redis.keys(`${journalPrefix}.*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
}, 30_000);

describe("canvas between Python Celery and tq (Redis)", () => {
  it("Python's chain, chord and chain with a chord in it run on a tq worker; Python reads the results", async () => {
    const key = journalKey();
    const [chained, chorded, nested, starmapped, chunked] = await runCanvasClient(tqQueue, [
      { workflow: "chain" },
      { workflow: "chord" },
      { workflow: "chain_with_chord", journal: key },
      { workflow: "starmap" },
      { workflow: "chunks" },
    ]);
    // celery.starmap, Celery's builtin, run by tq's.
    expect(starmapped).toMatchObject({ ok: true, result: [3, 7] });
    expect(chunked).toMatchObject({ ok: true, result: [[2, 4], [6]] });
    expect(chained).toMatchObject({ ok: true, state: "SUCCESS", result: 24 });
    expect(chained?.parent_id).toEqual(expect.any(String));
    expect(chorded).toMatchObject({ ok: true, state: "SUCCESS", result: 20 });
    expect(nested).toMatchObject({ ok: true, result: 7 });
    expect(await journal(key, 1)).toEqual(["tq:7"]);
    // tq reads what its worker stored for Python's chain, parent included.
    expect(await app.asyncResult(chained!.id).get(WAIT)).toBe(24);
    expect(await app.asyncResult(chained!.parent_id!).get(WAIT)).toBe(8);
  }, 120_000);

  it("Python's failing chord gets ChordError from tq; a failed chain step sends Python's errback the id", async () => {
    const key = journalKey();
    const [chordFailure, chainFailure] = await runCanvasClient(tqQueue, [
      { workflow: "chord_failing" },
      { workflow: "chain_failing", journal: key, errback_queue: pyQueue },
    ]);
    // Python's get() raises the failed header member's error first; the body itself holds ChordError.
    expect(chordFailure).toMatchObject({
      ok: false,
      state: "FAILURE",
      exc_class: "builtins.TypeError",
      stored_class: "celery.exceptions.ChordError",
    });
    expect((chordFailure as { stored_message: string }).stored_message).toMatch(
      /^Dependency \S+ raised TypeError\('bad member'\)$/,
    );
    // tq's tasks.fail throws a TypeError; the chain's last step never ran but is failed with it.
    expect(chainFailure).toMatchObject({ ok: false, exc_class: "builtins.TypeError", message: "bad step" });
    const failedStep = chainFailure!.parent_id;
    expect(await journal(key, 1)).toEqual([`python:${failedStep}`]);
  }, 120_000);

  it("tq's chain and chord run on a Python worker; tq and Python read the results", async () => {
    const key = journalKey();
    const chained = chain(
      add(2, 2),
      add(4),
      signature<number>("tasks.multiply", { args: [3], app }),
    ).applyAsync();
    const chorded = chord(
      [0, 1, 2, 3, 4].map((i) => add(i, i)),
      signature<number>("tasks.tsum", { app }),
    ).applyAsync();
    const nested = chain(
      add(1, 1),
      chord([add(1), add(2)], signature<number>("tasks.tsum", { app })),
      signature("tasks.journal_value", { args: [key], app }),
    ).applyAsync();
    expect(await chained.get(WAIT)).toBe(24);
    expect(await (chained.parent as AsyncResult<number>).get(WAIT)).toBe(8);
    expect(await chorded.get(WAIT)).toBe(20);
    expect(await (chorded.parent as GroupResult).get(WAIT)).toEqual([0, 2, 4, 6, 8]);
    expect(await nested.get(WAIT)).toBe(7);
    expect(await journal(key, 1)).toEqual(["python:7"]);
    const pairs = [
      [1, 2],
      [3, 4],
    ];
    expect(await xstarmap(signature<number>("tasks.add", { app }), pairs).applyAsync().get(WAIT)).toEqual([
      3, 7,
    ]);
    const [pyChained, pyChorded] = await runCanvasClient(pyQueue, [
      { read: chained.id },
      { read: chorded.id },
    ]);
    expect(pyChained).toMatchObject({ ok: true, result: 24 });
    expect(pyChorded).toMatchObject({ ok: true, result: 20 });
  }, 120_000);

  it("a chord whose header runs on tq and Python workers is finished once, by either side", async () => {
    for (const bodyQueue of [tqQueue, pyQueue]) {
      const key = journalKey();
      const header = [1, 2, 3, 4].map((i) => add(i, i).set({ queue: i % 2 === 0 ? pyQueue : tqQueue }));
      const body = signature("tasks.journal_value", { args: [key], options: { queue: bodyQueue }, app });
      const result = chord(header, body).applyAsync();
      expect(await result.get(WAIT)).toEqual([2, 4, 6, 8]);
      const entries = await journal(key, 1);
      // Each runtime journals the list as its JSON encoder writes it.
      expect(entries).toEqual([bodyQueue === tqQueue ? "tq:[2,4,6,8]" : "python:[2, 4, 6, 8]"]);
      // Later than any duplicate would come: still one entry.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await redis.llen(key)).toBe(1);
    }
  }, 120_000);
});
