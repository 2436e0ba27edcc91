import { setTimeout as sleep } from "node:timers/promises";
import {
  type App,
  buildTaskMessage,
  chain,
  chord,
  currentTask,
  type GroupResult,
  group,
  jsonSerializer,
  type TaskRequest,
} from "@tq/core";
import { afterEach, describe, expect, it } from "vitest";
import { exceptionRepr } from "../src/canvas/chord-join.js";
import { pendingResults } from "../src/canvas/failures.js";
import { cleanUp, makeHarness, publishRaw } from "./helpers.js";

afterEach(cleanUp);

class ValueError extends Error {
  override name = "ValueError";
}

function tasks(app: App, runs: string[] = []) {
  const note = () => runs.push(currentTask()?.name ?? "?");
  return {
    add: app.task("w.add", (x: number, y: number) => {
      note();
      return x + y;
    }),
    tsum: app.task("w.tsum", (values: number[]) => {
      note();
      return values.reduce((sum, value) => sum + value, 0);
    }),
    fail: app.task("w.fail", (message: string) => {
      note();
      throw new ValueError(message);
    }),
  };
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

/** Sends a builtin the way a Python client would: by name, with Celery's keyword arguments. */
function sendBuiltin(app: App, name: string, kwargs: Record<string, unknown>, args: unknown[] = []) {
  return app.sendTask(name, args, kwargs);
}

describe("Celery's builtin canvas tasks", () => {
  it("celery.map and celery.starmap call a registered task per item; an unknown one fails", async () => {
    const { app, worker } = makeHarness();
    const { add } = tasks(app);
    const echo = app.task("w.echo", (value: unknown) => value);
    await worker.start();
    const map = sendBuiltin(app, "celery.map", { task: echo.s().toJSON(), it: [1, "a"] });
    expect(await map.get({ timeout: 5 })).toEqual([1, "a"]);
    const starmap = sendBuiltin(app, "celery.starmap", { task: add.s().toJSON(), it: [[1, 2]] });
    expect(await starmap.get({ timeout: 5 })).toEqual([3]);
    const unknown = sendBuiltin(app, "celery.map", { task: { task: "nowhere" }, it: [1] });
    await expect(unknown.get({ timeout: 5 })).rejects.toThrow(/"nowhere" is not registered on this worker/);
  });

  it("celery.chunks, celery.chord, celery.group and celery.chain apply the canvas in their arguments", async () => {
    const { app, worker } = makeHarness();
    const { add, tsum } = tasks(app);
    await worker.start();
    const chunks = sendBuiltin(app, "celery.chunks", {
      task: add.s().toJSON(),
      it: [
        [1, 1],
        [2, 2],
        [3, 3],
      ],
      n: 2,
    });
    const [[groupId], parts] = (await chunks.get({ timeout: 5 })) as [[string], [[string, null], null][]];
    expect(parts).toHaveLength(2);
    expect(typeof groupId).toBe("string");
    expect(await app.asyncResult(parts[1]![0][0]).get({ timeout: 5 })).toEqual([6]);
    // Python's chord dict: header as a group dict, body, and its own `kwargs`.
    const header = {
      task: "celery.group",
      kwargs: { tasks: [add.s(1, 1).toJSON(), add.s(2, 2).toJSON()] },
      subtask_type: "group",
    };
    const chordResult = sendBuiltin(app, "celery.chord", { header, body: tsum.s().toJSON(), kwargs: {} });
    const [[bodyId]] = (await chordResult.get({ timeout: 5 })) as [[string]];
    expect(await app.asyncResult(bodyId).get({ timeout: 5 })).toBe(6);
    const groupResult = sendBuiltin(app, "celery.group", {
      tasks: [add.s(1).toJSON(), add.s(2).toJSON()],
      result: ["kept"],
      group_id: "g-builtin",
      partial_args: [10],
    });
    expect(await groupResult.get({ timeout: 5 })).toEqual(["kept"]);
    const chainResult = sendBuiltin(app, "celery.chain", {
      tasks: [add.s(1, 1).toJSON(), add.s(5).toJSON()],
    });
    const [[lastId]] = (await chainResult.get({ timeout: 5 })) as [[string]];
    expect(await app.asyncResult(lastId).get({ timeout: 5 })).toBe(7);
  });

  it("celery.accumulate returns its arguments, or the one at `index`; an app's own task of a builtin name wins", async () => {
    const { app, worker } = makeHarness();
    app.task("celery.starmap", () => "mine");
    await worker.start();
    expect(await sendBuiltin(app, "celery.accumulate", {}, [1, 2]).get({ timeout: 5 })).toEqual([1, 2]);
    expect(await sendBuiltin(app, "celery.accumulate", { index: -1 }, [[1, 2]]).get({ timeout: 5 })).toEqual([
      1, 2,
    ]);
    expect(await sendBuiltin(app, "celery.starmap", {}).get({ timeout: 5 })).toBe("mine");
  });
});

describe("errbacks", () => {
  it("calls an errback of more than one parameter in the worker, and sends a one-parameter one the task id", async () => {
    const { app, worker } = makeHarness();
    const { fail } = tasks(app);
    const inline: unknown[][] = [];
    const byMessage: [string, string | null, string][] = [];
    const onError = app.task(
      "w.on_error",
      (request: TaskRequest, exc: unknown, traceback: string | null, tag: string) => {
        inline.push([
          request.id,
          request.name,
          (exc as Error).message,
          traceback?.includes("ValueError"),
          tag,
        ]);
      },
    );
    const onErrorId = app.task("w.on_error_id", (taskId: string) => {
      const request = currentTask()!;
      byMessage.push([taskId, request.parentId, request.rootId]);
    });
    const immutable = app.task("w.on_error_fixed", (a: string, b: string) => {
      inline.push(["fixed", a, b]);
    });
    await worker.start();
    const sig = fail.s("boom");
    sig.linkError(onError.s("tag"));
    sig.linkError(onErrorId.s());
    sig.linkError(immutable.si("x", "y"));
    const result = sig.applyAsync();
    await expect(result.get({ timeout: 5 })).rejects.toThrow(/boom/);
    await until(() => inline.length === 2 && byMessage.length === 1, "the errbacks ran");
    expect(inline).toContainEqual([result.id, "w.fail", "boom", true, "tag"]);
    expect(inline).toContainEqual(["fixed", "x", "y"]);
    expect(byMessage).toEqual([[result.id, result.id, result.id]]);
  });
});

describe("chords", () => {
  it("a revoked header member fails the body with ChordError", async () => {
    const { app, worker } = makeHarness();
    const { add, tsum } = tasks(app);
    await worker.start();
    // Expired before it started: the worker revokes it (REVOKED, `expired`), as Celery does.
    const expired = add.s(1, 1).set({ taskId: "revoked-member", expires: new Date(Date.now() - 1000) });
    const sig = chord([add.s(2, 2), expired], tsum.s());
    const result = sig.applyAsync();
    await expect(result.get({ timeout: 5 })).rejects.toMatchObject({
      excType: "ChordError",
      excMessage: ["Dependency revoked-member raised TaskRevokedError('expired')"],
    });
  });

  it("a failed chain inside a header counts for the chord through its last step", async () => {
    const { app, worker } = makeHarness();
    const runs: string[] = [];
    const { add, fail, tsum } = tasks(app, runs);
    await worker.start();
    const result = chord([add.s(1, 1), chain(fail.si("early"), add.s(1))], tsum.s()).applyAsync();
    const header = result.parent as GroupResult;
    const lastStep = header.results[1]!.id;
    await expect(result.get({ timeout: 5 })).rejects.toMatchObject({
      excType: "ChordError",
      excMessage: [`Dependency ${lastStep} raised ValueError('early')`],
    });
    await expect(header.results[1]!.get({ timeout: 5 })).rejects.toMatchObject({ excType: "ValueError" });
    expect(runs.filter((name) => name === "w.tsum")).toHaveLength(0);
  });

  it("a body that cannot be sent fails with ChordError('Callback error: …')", async () => {
    const { app, worker } = makeHarness();
    const { add, tsum } = tasks(app);
    await worker.start();
    const body = tsum.s();
    body.options.countdown = "soon";
    const result = chord([add.s(1, 1)], body).applyAsync();
    await expect(result.get({ timeout: 5 })).rejects.toMatchObject({ excType: "ChordError" });
    expect((await result.meta())?.result).toMatchObject({
      exc_message: [expect.stringMatching(/^Callback error: TqError\(.*countdown must be a number/)],
    });
  });

  it("members whose results are ignored still count, and a group in the header is flattened", async () => {
    const { app, worker } = makeHarness();
    const { add, tsum } = tasks(app);
    const quiet = app.task("w.quiet", (x: number) => x, { ignoreResult: true });
    await worker.start();
    const header = [quiet.s(5), group(add.s(1, 1), add.s(3, 3)), chord([add.s(1, 1)], tsum.s())] as const;
    const result = chord(header, tsum.s()).applyAsync();
    // 5 + (2 + 6) + 2: the group's members are members of the header, the inner chord counts its body.
    expect(await result.get({ timeout: 5 })).toBe(15);
  });

  it("a member message without group_index (Celery < 5.1) still completes the chord", async () => {
    const { app, broker, worker } = makeHarness();
    const { add, tsum } = tasks(app);
    await worker.start();
    const body = tsum.s().set({ taskId: "body-of-unindexed" }).toJSON();
    await app.getBackend().then((backend) => backend.setChordSize("unindexed", 2));
    for (const [i, args] of [
      [1, 1],
      [2, 2],
    ].entries()) {
      const message = buildTaskMessage(
        { id: `m${i}`, task: add.name, args, kwargs: {}, group: "unindexed", embed: { chord: body } },
        jsonSerializer,
      );
      await publishRaw(broker, "celery", message);
    }
    expect(await app.asyncResult("body-of-unindexed").get({ timeout: 5 })).toBe(6);
  });
});

describe("helpers", () => {
  it("exceptionRepr writes Python's repr of a stored exception", () => {
    expect(exceptionRepr({ exc_type: "ValueError", exc_message: ["boom"], exc_module: "builtins" })).toBe(
      "ValueError('boom')",
    );
    expect(exceptionRepr({ exc_type: "KeyError", exc_message: [], exc_module: "builtins" })).toBe(
      "KeyError()",
    );
    expect(exceptionRepr({ exc_type: "E", exc_message: "text", exc_module: null })).toBe("E('text')");
  });

  it("pendingResults finds the task ids a workflow would have produced", () => {
    const step = (id: string) => ({
      task: "t",
      args: [],
      kwargs: {},
      options: { task_id: id },
      subtask_type: null,
      immutable: false,
    });
    const nested = {
      task: "celery.chord",
      args: [],
      kwargs: {
        header: { task: "celery.group", kwargs: { tasks: [step("h1")] }, subtask_type: "group" },
        body: step("b"),
      },
      options: { chain: [step("after")] },
      subtask_type: "chord",
      immutable: false,
    };
    expect(pendingResults(nested).map((result) => result.taskId)).toEqual(["h1", "b", "after"]);
  });
});
