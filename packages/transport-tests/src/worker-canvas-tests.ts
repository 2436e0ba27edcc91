import { setTimeout as sleep } from "node:timers/promises";
import {
  type App,
  type AsyncResult,
  chain,
  chord,
  currentTask,
  GroupResult,
  group,
  signature,
  type TaskRequest,
  TqError,
} from "@tq/core";
import { expect } from "vitest";
import type { WorkerHarness } from "./worker-harness.js";
import type { DefineWorkerTest } from "./worker-suite.js";

/** A failure stored as Python's builtin ValueError. */
class ValueError extends Error {
  override name = "ValueError";
}

/** What a canvas test task saw of its own message. */
interface Seen {
  name: string;
  id: string;
  args: readonly unknown[];
  parentId: string | null;
  rootId: string;
  groupId: string | null;
}

/** The canvas tasks, registered on a worker's app and (to make typed signatures) on the client's. */
function canvasTasks(app: App, seen: Seen[] = []) {
  const note = (): void => {
    const request = currentTask();
    if (!request) return;
    const { name, id, args, parentId, rootId, groupId } = request;
    seen.push({ name, id, args, parentId, rootId, groupId });
  };
  return {
    add: app.task("canvas.add", (x: number, y: number) => {
      note();
      return x + y;
    }),
    slowAdd: app.task("canvas.slow_add", async (x: number, y: number, ms: number) => {
      note();
      await sleep(ms);
      return x + y;
    }),
    tsum: app.task("canvas.tsum", (values: number[]) => {
      note();
      return values.reduce((sum, value) => sum + value, 0);
    }),
    fail: app.task("canvas.fail", (message: string) => {
      note();
      throw new ValueError(message);
    }),
    echo: app.task("canvas.echo", (...args: unknown[]) => {
      note();
      return args;
    }),
  };
}

/** An errback sent as a task (one parameter: the failed task's id), and one run in the worker. */
function errbackTasks(app: App, sentTo: string[], calledWith: [string, string, string | null][]) {
  return {
    onErrorId: app.task("canvas.on_error_id", (taskId: string) => {
      sentTo.push(taskId);
      return taskId;
    }),
    onError: app.task("canvas.on_error", (request: TaskRequest, exc: unknown, traceback: string | null) => {
      calledWith.push([request.id, exc instanceof Error ? exc.name : String(exc), traceback]);
    }),
  };
}

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

function timeout(harness: WorkerHarness): { timeoutMs: number } {
  return { timeoutMs: harness.options.timeoutMs * 3 };
}

async function failureOf(result: { get(options: { timeoutMs: number }): Promise<unknown> }, ms: number) {
  const error = await result.get({ timeoutMs: ms }).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!TqError.is(error, "TQ_TASK_FAILED")) throw new Error(`expected a task failure, got ${String(error)}`);
  return error as TqError & { excType: string; excMessage: unknown[]; excModule: string | null };
}

/**
 * Canvas (issue 8): chains, groups, chords, map/starmap/chunks, link/link_error and lineage, run end to
 * end by workers on the suite's broker and backend, in Celery's wire format.
 */
export function registerCanvasWorkerTests(defineTest: DefineWorkerTest): void {
  defineTest(
    "a chain passes each result to the next step; the result's parents lead back",
    async (harness) => {
      const workerApp = harness.makeApp();
      canvasTasks(workerApp);
      await harness.startWorker(workerApp);
      const { add } = canvasTasks(harness.makeApp());
      const result = chain(add.s(2, 2), add.s(4), add.s(8)).applyAsync();
      expect(await result.get(timeout(harness))).toBe(16);
      const middle = result.parent as AsyncResult<number>;
      expect(await middle.get(timeout(harness))).toBe(8);
      expect(await (middle.parent as AsyncResult<number>).get(timeout(harness))).toBe(4);
      expect(middle.parent?.parent).toBeNull();
    },
  );

  defineTest(
    "an immutable step (si) ignores the previous result; partial arguments come first",
    async (harness) => {
      const workerApp = harness.makeApp();
      canvasTasks(workerApp);
      await harness.startWorker(workerApp);
      const { add, echo } = canvasTasks(harness.makeApp());
      const result = chain(add.s(1, 1), add.si(10, 10), echo.s("bound")).applyAsync([], {}, { countdown: 0 });
      expect(await result.get(timeout(harness))).toEqual([20, "bound"]);
    },
  );

  defineTest("a group returns results in order; GroupResult counts, saves and restores", async (harness) => {
    const workerApp = harness.makeApp();
    canvasTasks(workerApp);
    await harness.startWorker(workerApp, { concurrency: 4 });
    const client = harness.makeApp();
    const { slowAdd } = canvasTasks(client);
    const result = group(slowAdd.s(1, 1, 300), slowAdd.s(2, 2, 0), slowAdd.s(3, 3, 100)).applyAsync();
    expect(result).toBeInstanceOf(GroupResult);
    expect(await result.get(timeout(harness))).toEqual([2, 4, 6]);
    expect(await result.completedCount()).toBe(3);
    expect(await result.ready()).toBe(true);
    expect(await result.successful()).toBe(true);
    await result.save();
    const restored = await GroupResult.restore(client, result.id);
    expect(restored?.results.map((member) => member.id)).toEqual(result.results.map((member) => member.id));
    expect(await restored?.get(timeout(harness))).toEqual([2, 4, 6]);
  });

  defineTest("a chord calls its body once, with the results in header order", async (harness) => {
    const seen: Seen[] = [];
    const workerApp = harness.makeApp();
    canvasTasks(workerApp, seen);
    await harness.startWorker(workerApp, { concurrency: 4 });
    const { slowAdd, tsum, echo } = canvasTasks(harness.makeApp());
    // The first member finishes last: the body still gets the results in header order.
    const header = [slowAdd.s(1, 0, 400), slowAdd.s(2, 0, 0), slowAdd.s(3, 0, 150)] as const;
    expect(await chord(header, echo.s()).applyAsync().get(timeout(harness))).toEqual([[1, 2, 3]]);
    const total = chord([slowAdd.s(1, 1, 50), slowAdd.s(2, 2, 0)], tsum.s()).applyAsync();
    expect(await total.get(timeout(harness))).toBe(6);
    expect(await (total.parent as GroupResult<number[]>).get(timeout(harness))).toEqual([2, 4]);
    expect(seen.filter((entry) => entry.name === "canvas.tsum")).toHaveLength(1);
    expect(seen.filter((entry) => entry.name === "canvas.echo")).toHaveLength(1);
  });

  defineTest("a chord with an empty header calls its body with []", async (harness) => {
    const workerApp = harness.makeApp();
    canvasTasks(workerApp);
    await harness.startWorker(workerApp);
    const { tsum } = canvasTasks(harness.makeApp());
    expect(await chord([], tsum.s()).applyAsync().get(timeout(harness))).toBe(0);
  });

  defineTest(
    "map, starmap and chunks run as celery.map, celery.starmap and celery.chunks",
    async (harness) => {
      const seen: Seen[] = [];
      const workerApp = harness.makeApp();
      canvasTasks(workerApp, seen);
      await harness.startWorker(workerApp, { concurrency: 2 });
      const { add, echo } = canvasTasks(harness.makeApp());
      expect(await echo.map([1, "two"]).applyAsync().get(timeout(harness))).toEqual([[1], ["two"]]);
      expect(
        await add
          .starmap([
            [1, 2],
            [3, 4],
          ])
          .applyAsync()
          .get(timeout(harness)),
      ).toEqual([3, 7]);
      const parts = add.chunks(
        [
          [1, 1],
          [2, 2],
          [3, 3],
          [4, 4],
          [5, 5],
        ],
        2,
      );
      const result = parts.applyAsync();
      expect(result.results).toHaveLength(3);
      expect(await result.get(timeout(harness))).toEqual([[2, 4], [6, 8], [10]]);
      // The mapped task ran in the worker's process, once per item, inside the builtin's message (its
      // currentTask() is the builtin's request).
      const builtinIds = new Set(result.results.map((part) => part.id));
      const runs = seen.filter((entry) => entry.name === "celery.starmap" && builtinIds.has(entry.id));
      expect(runs).toHaveLength(5);
    },
  );

  defineTest("link callbacks get the result (immutable ones their own arguments)", async (harness) => {
    const seen: Seen[] = [];
    const workerApp = harness.makeApp();
    canvasTasks(workerApp, seen);
    await harness.startWorker(workerApp);
    const { add, echo } = canvasTasks(harness.makeApp());
    const first = add.s(2, 3);
    first.link(echo.s("after"));
    first.link(echo.si("alone"));
    const result = first.applyAsync();
    expect(await result.get(timeout(harness))).toBe(5);
    await until(
      "both callbacks ran",
      () => seen.filter((entry) => entry.name === "canvas.echo").length === 2,
      15_000,
    );
    const callbacks = seen.filter((entry) => entry.name === "canvas.echo");
    expect(callbacks.map((entry) => entry.args).sort()).toEqual([["alone"], [5, "after"]].sort());
    for (const callback of callbacks) {
      expect(callback).toMatchObject({ parentId: result.id, rootId: result.id });
    }
  });

  defineTest(
    "nested: a chord inside a chain, a group of chains, a chain in a chord header",
    async (harness) => {
      const workerApp = harness.makeApp();
      canvasTasks(workerApp);
      await harness.startWorker(workerApp, { concurrency: 4 });
      const { add, tsum } = canvasTasks(harness.makeApp());
      // add(1,1)=2 → [2+1, 2+2] → sum 7 → 7+100
      const inChain = chain(add.s(1, 1), group(add.s(1), add.s(2)), tsum.s(), add.s(100)).applyAsync();
      expect(await inChain.get(timeout(harness))).toBe(107);
      const explicit = chain(add.s(1, 1), chord([add.s(10), add.s(20)], tsum.s()), add.s(1)).applyAsync();
      expect(await explicit.get(timeout(harness))).toBe(35);
      const ofChains = group(
        chain(add.s(1, 1), add.s(1)),
        chain(add.s(2, 2), add.s(2), add.s(2)),
      ).applyAsync();
      expect(await ofChains.get(timeout(harness))).toEqual([3, 8]);
      const chainInHeader = chord([add.s(1, 1), chain(add.s(2, 2), add.s(3))], tsum.s()).applyAsync();
      expect(await chainInHeader.get(timeout(harness))).toBe(9);
      const chordInHeader = chord([chord([add.s(1, 1), add.s(2, 2)], tsum.s()), add.s(10, 10)], tsum.s());
      expect(await chordInHeader.applyAsync().get(timeout(harness))).toBe(26);
    },
  );

  defineTest(
    "a failed chain step stops the chain, fails its last result and runs its errbacks",
    async (harness) => {
      const seen: Seen[] = [];
      const sentTo: string[] = [];
      const calledWith: [string, string, string | null][] = [];
      const workerApp = harness.makeApp();
      canvasTasks(workerApp, seen);
      errbackTasks(workerApp, sentTo, calledWith);
      await harness.startWorker(workerApp);
      const client = harness.makeApp();
      const { add, fail } = canvasTasks(client);
      const { onErrorId, onError } = errbackTasks(client, [], []);
      const workflow = chain(add.s(1, 1), fail.si("boom"), add.s(3));
      workflow.linkError(onErrorId.s());
      workflow.linkError(onError.s());
      const result = workflow.applyAsync();
      const failure = await failureOf(result, timeout(harness).timeoutMs);
      expect(failure).toMatchObject({ excType: "ValueError", excMessage: ["boom"], excModule: "builtins" });
      const failed = result.parent as AsyncResult;
      expect(await failed.state()).toBe("FAILURE");
      await until("the errbacks ran", () => sentTo.length === 1 && calledWith.length === 1, 15_000);
      expect(sentTo).toEqual([failed.id]);
      expect(calledWith[0]?.[0]).toBe(failed.id);
      expect(calledWith[0]?.[1]).toBe("ValueError");
      expect(calledWith[0]?.[2]).toContain("boom");
      // The step after the failure never ran.
      await sleep(200);
      expect(seen.filter((entry) => entry.name === "canvas.add")).toHaveLength(1);
    },
  );

  defineTest(
    "a failed chord member fails the body once with ChordError and runs the body's errbacks",
    async (harness) => {
      const seen: Seen[] = [];
      const sentTo: string[] = [];
      const calledWith: [string, string, string | null][] = [];
      const workerApp = harness.makeApp();
      canvasTasks(workerApp, seen);
      errbackTasks(workerApp, sentTo, calledWith);
      await harness.startWorker(workerApp, { concurrency: 3 });
      const client = harness.makeApp();
      const { slowAdd, fail, tsum } = canvasTasks(client);
      const { onErrorId, onError } = errbackTasks(client, [], []);
      const failing = fail.s("bad member");
      const workflow = chord([slowAdd.s(1, 1, 300), failing, slowAdd.s(2, 2, 0)], tsum.s());
      workflow.linkError(onErrorId.s());
      workflow.linkError(onError.s());
      const result = workflow.applyAsync();
      const failure = await failureOf(result, timeout(harness).timeoutMs);
      const header = result.parent as GroupResult;
      const failedMember = header.results[1]!.id;
      expect(failure.excType).toBe("ChordError");
      expect(failure.excModule).toBe("celery.exceptions");
      expect(failure.excMessage).toEqual([`Dependency ${failedMember} raised ValueError('bad member')`]);
      // Celery fails the body once the whole header reported: the slow member ran to the end.
      expect(await header.results[0]!.get(timeout(harness))).toBe(2);
      await until("the body's errbacks ran", () => sentTo.length === 1 && calledWith.length === 1, 15_000);
      expect(sentTo).toEqual([result.id]);
      expect(calledWith[0]?.slice(0, 2)).toEqual([result.id, "ChordError"]);
      await sleep(200);
      expect(seen.filter((entry) => entry.name === "canvas.tsum")).toHaveLength(0);
      expect(sentTo).toHaveLength(1);
    },
  );

  defineTest(
    "every message of a workflow carries its parent_id and the workflow's root_id",
    async (harness) => {
      const seen: Seen[] = [];
      const workerApp = harness.makeApp();
      canvasTasks(workerApp, seen);
      await harness.startWorker(workerApp, { concurrency: 2 });
      const { add, tsum } = canvasTasks(harness.makeApp());
      const result = chain(add.s(1, 1), chord([add.s(1), add.s(2)], tsum.s()), add.s(5)).applyAsync();
      expect(await result.get(timeout(harness))).toBe(12);
      const rootId = seen.find(
        (entry) => entry.args.length === 2 && entry.args[0] === 1 && entry.args[1] === 1,
      )!.id;
      expect(seen).toHaveLength(5);
      for (const entry of seen) expect(entry.rootId, entry.name).toBe(rootId);
      const byId = new Map(seen.map((entry) => [entry.id, entry]));
      const first = byId.get(rootId)!;
      expect(first.parentId).toBeNull();
      const members = seen.filter((entry) => entry.groupId !== null);
      expect(members).toHaveLength(2);
      for (const member of members) expect(member.parentId).toBe(rootId);
      const body = seen.find((entry) => entry.name === "canvas.tsum")!;
      expect(body.parentId).toBe(rootId);
      expect(byId.get(result.id)?.parentId).toBe(body.id);
    },
  );

  defineTest("a chord of many members on two workers completes exactly once", async (harness) => {
    const seen: Seen[] = [];
    for (let i = 0; i < 2; i++) {
      const workerApp = harness.makeApp();
      canvasTasks(workerApp, seen);
      await harness.startWorker(workerApp, { concurrency: 4 });
    }
    const { add, tsum } = canvasTasks(harness.makeApp());
    const header = Array.from({ length: 24 }, (_, i) => add.s(i, 0));
    const result = chord(header, tsum.s()).applyAsync();
    expect(await result.get(timeout(harness))).toBe((23 * 24) / 2);
    await sleep(300);
    expect(seen.filter((entry) => entry.name === "canvas.tsum")).toHaveLength(1);
  });

  defineTest(
    "a signature made by name, and one read back from its Celery dict, run the same",
    async (harness) => {
      const workerApp = harness.makeApp();
      canvasTasks(workerApp);
      await harness.startWorker(workerApp);
      const client = harness.makeApp();
      const byName = signature<number>("canvas.add", { args: [20, 22], app: client });
      expect(await byName.delay().get(timeout(harness))).toBe(42);
      const { add } = canvasTasks(client);
      const json = JSON.parse(JSON.stringify(chain(add.s(1, 2), add.s(3))));
      expect(json).toMatchObject({ task: "celery.chain", subtask_type: "chain" });
      const revived = signature<number>(json, { app: client });
      expect(await revived.applyAsync().get(timeout(harness))).toBe(6);
    },
  );
}
