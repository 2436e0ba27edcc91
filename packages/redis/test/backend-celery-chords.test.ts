import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backendFixture, groupKey, stateDoc as meta, python, redisUrl } from "./support/backend-redis.js";

// DB 6 belongs to the backend layout tests (this file and its sibling). Ids and key prefixes carry a
// run-unique prefix, and only keys with it are deleted afterwards.
const f = backendFixture(6, "chords");
const { id } = f;
const backend = f.backend.bind(f);
const DB = f.db;

beforeAll(() => f.setup());
afterAll(() => f.teardown());

describe("groups and chords in Celery's layout", () => {
  it("saves a group as GroupResult.save() does, reads Celery's back, forgets it", async () => {
    const b = backend();
    const groupId = id("group");
    const members = [id("m"), id("m")];
    await b.saveGroup(groupId, members);
    expect(JSON.parse((await f.raw.get(groupKey(groupId))) as string)).toEqual({
      result: [[groupId, null], members.map((m) => [[m, null], null])],
    });
    expect(await f.raw.ttl(groupKey(groupId))).toBeGreaterThanOrEqual(86_399);
    const python = id("group-py");
    await f.raw.set(
      groupKey(python),
      `{"result": [["${python}", null], [[["a-1", null], null], [["a-2", null], null]]]}`,
    );
    expect(await b.getGroup(python)).toEqual(["a-1", "a-2"]);
    await b.forgetGroup(groupId);
    expect(await f.raw.exists(groupKey(groupId))).toBe(0);
  });

  it("writes .s, a .j ZSET of [1, id, state, result] scored by index, reads .t, and clears them", async () => {
    const b = backend();
    const groupId = id("chord");
    const [s, j, t] = [".s", ".j", ".t"].map((suffix) => `${groupKey(groupId)}${suffix}`) as [
      string,
      string,
      string,
    ];
    await b.setChordSize(groupId, 2);
    expect(await f.raw.get(s)).toBe("2");
    expect(await f.raw.ttl(s)).toBeGreaterThanOrEqual(86_399);
    expect(
      await b.addChordPart(groupId, { index: 1, taskId: `${groupId}-b`, status: "SUCCESS", result: 2 }),
    ).toEqual({
      complete: false,
      received: 1,
      parts: [],
    });
    const stored = await f.raw.zrange(j, 0, "-1", "WITHSCORES");
    expect(stored).toHaveLength(2);
    expect(JSON.parse(stored[0] as string)).toEqual([1, `${groupId}-b`, "SUCCESS", 2]);
    expect(stored[1]).toBe("1");
    expect(await f.raw.ttl(j)).toBeGreaterThanOrEqual(86_399);
    // Celery's add_to_chord grew the header by one.
    await f.raw.incr(t);
    expect(
      (await b.addChordPart(groupId, { index: 0, taskId: `${groupId}-a`, status: "SUCCESS", result: 1 }))
        .complete,
    ).toBe(false);
    const last = await b.addChordPart(groupId, {
      index: 2,
      taskId: `${groupId}-c`,
      status: "FAILURE",
      result: { exc_type: "ValueError", exc_message: ["x"], exc_module: "builtins" },
    });
    expect(last.complete).toBe(true);
    expect(last.parts.map((p) => [p.index, p.taskId, p.status])).toEqual([
      [0, `${groupId}-a`, "SUCCESS"],
      [1, `${groupId}-b`, "SUCCESS"],
      [2, `${groupId}-c`, "FAILURE"],
    ]);
    await b.clearChord(groupId);
    expect(await f.raw.exists(s, j, t)).toBe(0);
  });

  it("completes a chord whose parts Python Celery added (captured member form)", async () => {
    const groupId = id("chord-py");
    await f.raw.set(`${groupKey(groupId)}.s`, "2");
    await f.raw.zadd(`${groupKey(groupId)}.j`, 0, `[1, "${groupId}-a", "SUCCESS", 2]`);
    const done = await backend().addChordPart(groupId, {
      index: 1,
      taskId: `${groupId}-b`,
      status: "SUCCESS",
      result: 3,
    });
    expect(done).toMatchObject({ complete: true, received: 2 });
    expect(done.parts.map((p) => p.result)).toEqual([2, 3]);
  });

  it("uses a LIST with RPUSH when chordOrdered is false; parts come in completion order", async () => {
    const b = backend({ chordOrdered: false });
    const groupId = id("chord-list");
    await b.setChordSize(groupId, 2);
    const part = (index: number) => ({
      index,
      taskId: `${groupId}-${index}`,
      status: "SUCCESS",
      result: index,
    });
    expect((await b.addChordPart(groupId, part(1))).complete).toBe(false);
    expect((await b.addChordPart(groupId, part(1))).received).toBe(1);
    const done = await b.addChordPart(groupId, part(0));
    expect(await f.raw.type(`${groupKey(groupId)}.j`)).toBe("list");
    expect(done.complete).toBe(true);
    expect(done.parts.map((p) => [p.index, p.taskId])).toEqual([
      [0, `${groupId}-1`],
      [1, `${groupId}-0`],
    ]);
  });

  it("never completes twice when a part is reported again, even with another result", async () => {
    const b = backend();
    const groupId = id("chord-dup");
    await b.setChordSize(groupId, 2);
    const part = (index: number, result: unknown) => ({
      index,
      taskId: `${groupId}-${index}`,
      status: "SUCCESS",
      result,
    });
    expect(await b.addChordPart(groupId, part(0, "a"))).toMatchObject({ complete: false, received: 1 });
    expect(await b.addChordPart(groupId, part(0, "a-again"))).toMatchObject({ complete: false, received: 1 });
    const done = await b.addChordPart(groupId, part(1, "b"));
    expect(done).toMatchObject({ complete: true, received: 2 });
    expect(done.parts.map((p) => p.result)).toEqual(["a", "b"]);
    for (const again of [part(1, "b"), part(0, "a"), part(1, "b2")]) {
      expect((await b.addChordPart(groupId, again)).complete).toBe(false);
    }
  });

  it("completes exactly once when many backends add parts (and repeats) concurrently", async () => {
    const workers = Array.from({ length: 6 }, () => backend());
    const groupId = id("chord-race");
    const size = 60;
    await workers[0]!.setChordSize(groupId, size);
    const calls = [];
    for (let index = 0; index < size; index++) {
      const part = { index, taskId: `${groupId}-${index}`, status: "SUCCESS", result: { index } };
      calls.push(workers[index % workers.length]!.addChordPart(groupId, part));
      if (index % 7 === 0) calls.push(workers[(index + 1) % workers.length]!.addChordPart(groupId, part));
    }
    const progress = await Promise.all(calls);
    const completions = progress.filter((p) => p.complete);
    expect(completions).toHaveLength(1);
    expect(completions[0]!.parts.map((p) => p.index)).toEqual(Array.from({ length: size }, (_, i) => i));
    expect(await f.raw.zcard(`${groupKey(groupId)}.j`)).toBe(size);
  });
});

describe("Python Celery reads what tq wrote", () => {
  it("AsyncResult, GroupResult.restore and json.loads of a chord member; tq reads Python's store_result", async () => {
    const b = backend();
    const [ok, failed, groupId, fromPython, chordId] = [
      id("py-ok"),
      id("py-fail"),
      id("py-group"),
      id("py-store"),
      id("py-chord"),
    ];
    await b.store({
      ...meta(ok, "SUCCESS", { text: "värde ✓", n: [1, 2.5, null] }),
      date_done: "2030-01-02T03:04:05.678000+00:00",
    });
    await b.store({
      ...meta(failed, "FAILURE", {
        exc_type: "ValueError",
        exc_message: ["bad input"],
        exc_module: "builtins",
      }),
      traceback: "Error: bad input\n    at task (file.js:1:1)",
    });
    await b.saveGroup(groupId, [ok, failed]);
    await b.setChordSize(chordId, 5);
    await b.addChordPart(chordId, { index: 3, taskId: ok, status: "SUCCESS", result: { text: "värde ✓" } });
    const member = (await f.raw.zrange(`${groupKey(chordId)}.j`, 0, "-1"))[0] as string;
    const out = await python(
      `
import json, sys
from celery import Celery
app = Celery("probe", backend=sys.argv[1])
ok, failed, gid, py_id, member = sys.argv[2:7]
r, f = app.AsyncResult(ok), app.AsyncResult(failed)
g = app.GroupResult.restore(gid)
app.backend.store_result(py_id, {"n": [1, 2]}, "SUCCESS")
print(json.dumps({"ok": [r.state, r.result, r.date_done.isoformat()], "fail": [f.state, type(f.result).__name__, str(f.result)],
                  "group": [x.id for x in g.results], "member": json.loads(member)}))
`,
      [redisUrl(DB), ok, failed, groupId, fromPython, member],
    );
    expect(JSON.parse(out)).toEqual({
      ok: ["SUCCESS", { text: "värde ✓", n: [1, 2.5, null] }, "2030-01-02T03:04:05.678000+00:00"],
      fail: ["FAILURE", "ValueError", "bad input"],
      group: [ok, failed],
      member: [1, ok, "SUCCESS", { text: "värde ✓" }],
    });
    const stored = await b.get(fromPython);
    expect(stored).toMatchObject({
      task_id: fromPython,
      status: "SUCCESS",
      result: { n: [1, 2] },
      traceback: null,
      children: [],
    });
    expect(typeof stored?.date_done).toBe("string");
  });
});
