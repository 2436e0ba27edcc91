/**
 * Python Celery 5.2's MongoDB result backend (`celery/backends/mongodb.py` on pymongo 3.11, run by
 * python/celery_backend.py) writes results, failures and groups; tq's MongoBackend and AsyncResult read
 * them. Each test has its own database on the test MongoDB (the stand-in, or TQ_TEST_MONGO_URL).
 */
import { randomUUID } from "node:crypto";
import { type App, createApp, type TaskFailedError, TqError } from "@tq/core";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { MongoBackend } from "../../src/backend.js";
import { stopAll } from "../support/interop-processes.js";
import { type PythonWrite, pythonUnavailable, runCeleryBackend } from "../support/interop-python.js";
import { TestDatabase } from "../support/mongo.js";

if (pythonUnavailable) console.warn(`[skipped] Python Celery → tq (MongoDB) interop: ${pythonUnavailable}`);

// Celery 5.2 writes date_done as `datetime.utcnow().isoformat()`: a string, naive, in UTC.
const NAIVE_UTC_MICROS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/;
const TEST_TIMEOUT_MS = 60_000;

const opened: { backend: MongoBackend; app: App; database: TestDatabase }[] = [];

/** A database of its own for one test, a tq backend on it, and an app reading results through it. */
function fixture(label: string): { backend: MongoBackend; app: App; database: TestDatabase } {
  const database = new TestDatabase(label);
  const backend = new MongoBackend({ url: database.url, pollIntervalMs: 20, maxPollIntervalMs: 200 });
  const app = createApp({ name: "py2tq", resultBackend: backend, env: false });
  const entry = { backend, app, database };
  opened.push(entry);
  return entry;
}

function id(label: string): string {
  return `${label}-${randomUUID()}`;
}

/** Awaits a tq result's rejection and returns it (a failure here is the expected outcome). */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}

afterEach(async () => {
  const entries = opened.splice(0);
  await Promise.allSettled(entries.map(({ app }) => app.close()));
  await Promise.allSettled(entries.map(({ backend }) => backend.close()));
  await Promise.allSettled(entries.map(({ database }) => database.drop()));
});

afterAll(() => stopAll());

describe.skipIf(pythonUnavailable !== null)("Python Celery's MongoBackend writes, tq reads (MongoDB)", () => {
  it(
    "mark_as_done with a task request (result_extended): state, result, children, group, parent and extended fields exactly",
    async () => {
      const { backend, app, database } = fixture("py2tq_done");
      const taskId = id("done");
      const value = {
        text: "héllo ✓ 🎉 中文",
        nested: [1, 2.5, null, true, { deep: ["x", [], {}] }],
        big: 2 ** 53 - 1,
      };
      await runCeleryBackend(
        database.url,
        [
          {
            op: "mark_as_done",
            id: taskId,
            result: value,
            request: {
              id: taskId,
              group: "group-1",
              parent_id: "parent-1",
              task: "tasks.add",
              args: [2, 8],
              kwargs: { ключ: "значение" },
              hostname: "celery@py",
              retries: 1,
              routing_key: "celery",
              children: ["child-1", { group: "child-group", members: ["member-1", "member-2"] }],
            },
          },
        ],
        { extended: true },
      );
      const raw = await database.db.collection("celery_taskmeta").findOne({ _id: taskId as never });
      expect(typeof raw?.date_done).toBe("string");
      const dateDone = String(raw?.date_done);
      expect(dateDone).toMatch(NAIVE_UTC_MICROS);
      expect(Math.abs(Date.parse(`${dateDone.slice(0, 23)}Z`) - Date.now())).toBeLessThan(60_000);

      expect(await backend.get(taskId)).toEqual({
        task_id: taskId,
        status: "SUCCESS",
        result: value,
        traceback: null,
        // AsyncResult.as_tuple() and GroupResult.as_tuple(), stored by pymongo as arrays.
        children: [
          [["child-1", null], null],
          [
            ["child-group", null],
            [
              [["member-1", null], null],
              [["member-2", null], null],
            ],
          ],
        ],
        date_done: dateDone,
        group_id: "group-1",
        parent_id: "parent-1",
        name: "tasks.add",
        args: [2, 8],
        kwargs: { ключ: "значение" },
        worker: "celery@py",
        retries: 1,
        queue: "celery",
      });
      const result = app.asyncResult(taskId);
      expect(await result.get({ timeout: 10 })).toEqual(value);
      expect(await result.state()).toBe("SUCCESS");
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "store_result of STARTED and mark_as_retry: tq sees the unready states, their results and no date_done",
    async () => {
      const { backend, app, database } = fixture("py2tq_unready");
      const started = id("started");
      const retried = id("retry");
      const [, retry] = await runCeleryBackend(database.url, [
        { op: "store_result", id: started, result: { pid: 4242, hostname: "celery@py" }, state: "STARTED" },
        {
          op: "mark_as_retry",
          id: retried,
          exception: { type: "ConnectionError", args: ["try again"] },
          request: { id: retried },
        },
      ]);
      // Without a request Celery stores children None; tq reads a missing list as [].
      expect(await backend.get(started)).toEqual({
        task_id: started,
        status: "STARTED",
        result: { pid: 4242, hostname: "celery@py" },
        traceback: null,
        children: [],
        date_done: null,
      });
      expect(await backend.get(retried)).toEqual({
        task_id: retried,
        status: "RETRY",
        result: { exc_type: "ConnectionError", exc_message: ["try again"], exc_module: "builtins" },
        traceback: (retry as PythonWrite).traceback,
        children: [],
        date_done: null,
      });
      expect(await app.asyncResult(started).state()).toBe("STARTED");
      expect(await app.asyncResult(retried).ready()).toBe(false);
      await expect(app.asyncResult(retried).get({ timeoutMs: 300 })).rejects.toMatchObject({
        code: "TQ_TIMEOUT",
      });
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "mark_as_failure with a raised ValueError: tq's get() rejects with ValueError (builtins), its message and Python's traceback",
    async () => {
      const { backend, app, database } = fixture("py2tq_failure");
      const taskId = id("failure");
      const [written] = await runCeleryBackend(database.url, [
        { op: "mark_as_failure", id: taskId, exception: { type: "ValueError", args: ["bad input"] } },
      ]);
      const traceback = (written as PythonWrite).traceback ?? "";
      expect(traceback).toMatch(/^Traceback \(most recent call last\):\n[\s\S]*\nValueError: bad input\n$/);

      const meta = await backend.get(taskId);
      expect(meta).toMatchObject({
        status: "FAILURE",
        result: { exc_type: "ValueError", exc_message: ["bad input"], exc_module: "builtins" },
        traceback,
      });
      expect(meta?.date_done).toMatch(NAIVE_UTC_MICROS);

      const result = app.asyncResult(taskId);
      const error = await rejectionOf(result.get({ timeout: 10 }));
      expect(TqError.is(error, "TQ_TASK_FAILED"), String(error)).toBe(true);
      expect(error).toMatchObject({
        name: "TaskFailedError",
        taskId,
        excType: "ValueError",
        excMessage: ["bad input"],
        excModule: "builtins",
        remoteTraceback: traceback,
        message: `[tq] task ${taskId} failed: ValueError: bad input`,
      });
      expect(await result.get({ timeout: 10, propagate: false })).toEqual(meta?.result);
      expect(await result.failed()).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "failures of a module tq does not know, a nested class and a revoke keep their type, module and args",
    async () => {
      const { app, database } = fixture("py2tq_exc");
      const declined = id("declined");
      const nested = id("nested");
      const revoked = id("revoked");
      await runCeleryBackend(database.url, [
        {
          op: "mark_as_failure",
          id: declined,
          exception: { type: "PaymentDeclined", args: ["card declined", 402] },
        },
        { op: "mark_as_failure", id: nested, exception: { type: "Outer.Nested", args: [] } },
        { op: "mark_as_revoked", id: revoked, reason: "terminated" },
      ]);
      const declinedError = (await rejectionOf(
        app.asyncResult(declined).get({ timeout: 10 }),
      )) as TaskFailedError;
      expect(declinedError).toMatchObject({
        code: "TQ_TASK_FAILED",
        excType: "PaymentDeclined",
        excModule: "interop_errors",
        excMessage: ["card declined", 402],
        // Python's str() of an exception with two args: the args tuple's repr.
        message: `[tq] task ${declined} failed: PaymentDeclined: ('card declined', 402)`,
      });
      expect(declinedError.remoteTraceback).toContain(
        "interop_errors.PaymentDeclined: ('card declined', 402)",
      );

      const nestedError = await rejectionOf(app.asyncResult(nested).get({ timeout: 10 }));
      expect(nestedError).toMatchObject({
        code: "TQ_TASK_FAILED",
        excType: "Outer.Nested", // Celery stores __qualname__
        excModule: "interop_errors",
        excMessage: [],
        message: `[tq] task ${nested} failed: Outer.Nested`,
      });

      const revokedError = await rejectionOf(app.asyncResult(revoked).get({ timeout: 10 }));
      expect(TqError.is(revokedError, "TQ_TASK_REVOKED"), String(revokedError)).toBe(true);
      expect(revokedError).toMatchObject({
        excType: "TaskRevokedError",
        excModule: "celery.exceptions",
        excMessage: ["terminated"],
        remoteTraceback: null,
      });
      expect(await app.asyncResult(revoked).state()).toBe("REVOKED");
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "GroupResult.save(): tq's getGroup reads the member ids in order, and each member's result",
    async () => {
      const { backend, app, database } = fixture("py2tq_group");
      const groupId = id("group");
      const members = [id("m0"), id("m1"), id("m2")];
      await runCeleryBackend(database.url, [
        { op: "mark_as_done", id: members[0] ?? "", result: 0, request: { id: members[0], group: groupId } },
        {
          op: "mark_as_failure",
          id: members[1] ?? "",
          exception: { type: "KeyError", args: ["missing"] },
          request: { id: members[1], group: groupId },
        },
        {
          op: "mark_as_done",
          id: members[2] ?? "",
          result: "two",
          request: { id: members[2], group: groupId },
        },
        { op: "save_group", id: groupId, members },
      ]);
      const raw = await database.db.collection("celery_groupmeta").findOne({ _id: groupId as never });
      expect(raw?.result).toBe(JSON.stringify(members).replaceAll(",", ", "));
      expect(await backend.getGroup(groupId)).toEqual(members);
      const metas = await Promise.all(members.map((member) => backend.waitFor(member, { timeoutMs: 5_000 })));
      expect(metas.map((meta) => [meta.status, meta.group_id])).toEqual([
        ["SUCCESS", groupId],
        ["FAILURE", groupId],
        ["SUCCESS", groupId],
      ]);
      expect(await app.asyncResult(members[2] ?? "").get({ timeout: 5 })).toBe("two");
      expect(await rejectionOf(app.asyncResult(members[1] ?? "").get({ timeout: 5 }))).toMatchObject({
        excType: "KeyError",
        excModule: "builtins",
        excMessage: ["missing"],
      });
      expect(await backend.getGroup(id("no-such-group"))).toBeNull();
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "tq's waitFor, started before Python writes, resolves with Python's result",
    async () => {
      const { app, database } = fixture("py2tq_wait");
      const taskId = id("wait");
      const waiting = app.asyncResult(taskId).get({ timeout: 40 });
      await runCeleryBackend(database.url, [{ op: "mark_as_done", id: taskId, result: [4, { y: 5 }] }]);
      expect(await waiting).toEqual([4, { y: 5 }]);
    },
    TEST_TIMEOUT_MS,
  );
});
