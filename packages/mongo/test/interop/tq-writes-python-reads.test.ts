/**
 * tq's MongoBackend writes results, failures and groups (directly, and through a tq worker); Python
 * Celery 5.2's MongoDB result backend (`celery/backends/mongodb.py` on pymongo 3.11, run by
 * python/celery_backend.py) reads them with `AsyncResult` and `GroupResult.restore`. Each test has its
 * own database on the test MongoDB (the stand-in, or TQ_TEST_MONGO_URL).
 */
import { randomUUID } from "node:crypto";
import { createApp, errorToExceptionInfo, type TaskMeta, TaskRevokedError } from "@tq/core";
import { createWorker } from "@tq/worker";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { MongoBackend } from "../../src/backend.js";
import { mongoTransport } from "../../src/index.js";
import { stopAll } from "../support/interop-processes.js";
import { asGroup, asRead, pythonUnavailable, runCeleryBackend } from "../support/interop-python.js";
import { TestDatabase } from "../support/mongo.js";

if (pythonUnavailable) console.warn(`[skipped] tq → Python Celery (MongoDB) interop: ${pythonUnavailable}`);

const TEST_TIMEOUT_MS = 60_000;

const opened: { backend: MongoBackend; database: TestDatabase }[] = [];

/** A database of its own for one test, and a tq backend on it. */
function fixture(label: string): { backend: MongoBackend; database: TestDatabase } {
  const database = new TestDatabase(label);
  const backend = new MongoBackend({ url: database.url });
  const entry = { backend, database };
  opened.push(entry);
  return entry;
}

function id(label: string): string {
  return `${label}-${randomUUID()}`;
}

/** An error the way a tq task throws one: its `name` becomes `exc_type`. */
class NamedError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** A FAILURE document as tq's worker stores it: `errorToExceptionInfo` of what the task threw. */
function failure(taskId: string, error: unknown, extra: Partial<TaskMeta> = {}): TaskMeta {
  const { info, traceback } = errorToExceptionInfo(error);
  return {
    task_id: taskId,
    status: error instanceof TaskRevokedError ? "REVOKED" : "FAILURE",
    result: info,
    traceback,
    children: [],
    date_done: new Date().toISOString(),
    ...extra,
  };
}

afterEach(async () => {
  const entries = opened.splice(0);
  await Promise.allSettled(entries.map(({ backend }) => backend.close()));
  await Promise.allSettled(entries.map(({ database }) => database.drop()));
});

afterAll(() => stopAll());

describe.skipIf(pythonUnavailable !== null)("tq's MongoBackend writes, Python Celery reads (MongoDB)", () => {
  it(
    "SUCCESS: AsyncResult.get(), .state, .result, .traceback, .date_done and .children",
    async () => {
      const { backend, database } = fixture("tq2py_success");
      const taskId = id("success");
      const value = {
        text: "héllo ✓ 🎉 中文",
        nested: [1, 2.5, null, true, { deep: ["x", [], {}] }],
        big: 2 ** 53 - 1,
      };
      await backend.store({
        task_id: taskId,
        status: "SUCCESS",
        result: value,
        traceback: null,
        children: [
          [["child-1", null], null],
          [["child-group", null], [[["member-1", null], null]]],
        ],
        // Microseconds: the BSON Date keeps milliseconds, tq_date_done the exact string.
        date_done: "2030-01-02T03:04:05.678901+00:00",
        group_id: "group-1",
        parent_id: "parent-1",
        name: "tasks.add",
        args: [2, 8],
        kwargs: {},
        worker: "tq@host",
        retries: 0,
        queue: "celery",
      });
      const [read] = await runCeleryBackend(database.url, [{ op: "read", id: taskId }], { extended: true });
      expect(asRead(read)).toEqual({
        op: "read",
        id: taskId,
        get: { value },
        state: "SUCCESS",
        result: { value },
        traceback: null,
        // pymongo gives the BSON Date as a naive UTC datetime, as it does Celery ≥ 5.3.4's own.
        date_done: { type: "datetime", iso: "2030-01-02T03:04:05.678000", tz: "None" },
        children: ["child-1", { group: "child-group", members: ["member-1"] }],
        meta_keys: ["children", "date_done", "result", "status", "task_id", "traceback"],
      });
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "FAILURE with exc_type ValueError / builtins: get() raises builtins.ValueError, .traceback is tq's",
    async () => {
      const { backend, database } = fixture("tq2py_failure");
      const taskId = id("failure");
      const meta = failure(taskId, new NamedError("ValueError", "bad input"));
      expect(meta.result).toEqual({
        exc_type: "ValueError",
        exc_message: ["bad input"],
        exc_module: "builtins",
      });
      await backend.store(meta);
      const [read] = await runCeleryBackend(database.url, [{ op: "read", id: taskId }]);
      const exception = {
        exc_class: "builtins.ValueError",
        exc_args: ["bad input"],
        str: "bad input",
        is_exception: true,
      };
      expect(asRead(read)).toMatchObject({
        get: { exception },
        state: "FAILURE",
        result: { exception },
        traceback: meta.traceback,
        children: [],
      });
      expect(asRead(read).traceback).toContain("ValueError: bad input");
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "TypeError, an error type Python does not have and a revoke come back as the Python classes Celery makes",
    async () => {
      const { backend, database } = fixture("tq2py_exc");
      const typeError = id("type");
      const unknown = id("unknown");
      const revoked = id("revoked");
      await backend.store(failure(typeError, new TypeError("x is not a function")));
      await backend.store(failure(unknown, new NamedError("PaymentDeclined", "card declined")));
      await backend.store(failure(revoked, new TaskRevokedError(revoked, { excMessage: ["terminated"] })));
      const reads = (
        await runCeleryBackend(database.url, [
          { op: "read", id: typeError },
          { op: "read", id: unknown },
          { op: "read", id: revoked },
        ])
      ).map(asRead);
      expect(reads.map((read) => [read.state, read.get])).toEqual([
        [
          "FAILURE",
          {
            exception: {
              exc_class: "builtins.TypeError",
              exc_args: ["x is not a function"],
              str: "x is not a function",
              is_exception: true,
            },
          },
        ],
        [
          // exc_module "builtins" has no such class: Celery makes one up in celery.exceptions.
          "FAILURE",
          {
            exception: {
              exc_class: "celery.exceptions.PaymentDeclined",
              exc_args: ["card declined"],
              str: "card declined",
              is_exception: true,
            },
          },
        ],
        [
          "REVOKED",
          {
            exception: {
              exc_class: "celery.exceptions.TaskRevokedError",
              exc_args: ["terminated"],
              str: "terminated",
              is_exception: true,
            },
          },
        ],
      ]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "saveGroup: GroupResult.restore(id) gives the members in order, with their states and values",
    async () => {
      const { backend, database } = fixture("tq2py_group");
      const groupId = id("group");
      const members = [id("m0"), id("m1"), id("m2")];
      const done = { traceback: null, children: [], date_done: new Date().toISOString(), group_id: groupId };
      await backend.store({ task_id: members[0] ?? "", status: "SUCCESS", result: 0, ...done });
      await backend.store(
        failure(members[1] ?? "", new NamedError("ValueError", "odd"), { group_id: groupId }),
      );
      await backend.saveGroup(groupId, members);
      const [group, missing] = (
        await runCeleryBackend(database.url, [
          { op: "restore_group", id: groupId },
          { op: "restore_group", id: id("no-such-group") },
        ])
      ).map(asGroup);
      expect(group).toEqual({
        op: "restore_group",
        id: groupId,
        found: true,
        // Celery 5.2's MongoBackend._restore_group returns a list of AsyncResult, not a GroupResult.
        type: "list",
        members,
        states: ["SUCCESS", "FAILURE", "PENDING"],
        values: [
          { value: 0 },
          {
            exception: {
              exc_class: "builtins.ValueError",
              exc_args: ["odd"],
              str: "odd",
              is_exception: true,
            },
          },
          { value: null },
        ],
      });
      expect(missing).toMatchObject({ found: false });
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "results a tq worker stored (a return value, a thrown ValueError, result_extended) read by Python",
    async () => {
      const database = new TestDatabase("tq2py_worker");
      opened.push({ backend: new MongoBackend({ url: database.url }), database });
      const app = createApp({
        name: "tq2py-worker",
        broker: database.url,
        resultBackend: database.url,
        transports: [mongoTransport],
        resultExtended: true,
        env: false,
      });
      const queue = `interop-${randomUUID().slice(0, 8)}`;
      const add = app.task("interop.add", (x: number, y: number) => ({ sum: x + y, text: "två" }));
      const fail = app.task("interop.fail", (reason: string) => {
        throw new NamedError("ValueError", reason);
      });
      const worker = createWorker(app, { queues: [queue], concurrency: 2, hostname: "tq-interop@test" });
      try {
        await worker.start();
        const sum = add.applyAsync([2, 8], {}, { queue });
        const failed = fail.applyAsync(["bad input"], {}, { queue });
        expect(await sum.get({ timeout: 15 })).toEqual({ sum: 10, text: "två" });
        await expect(failed.get({ timeout: 15 })).rejects.toMatchObject({ excType: "ValueError" });

        const [sumRead, failRead] = (
          await runCeleryBackend(
            database.url,
            [
              { op: "read", id: sum.id },
              { op: "read", id: failed.id },
            ],
            { extended: true },
          )
        ).map(asRead);
        expect(sumRead).toMatchObject({
          state: "SUCCESS",
          get: { value: { sum: 10, text: "två" } },
          traceback: null,
        });
        expect(sumRead?.date_done).toMatchObject({ type: "datetime", tz: "None" });
        expect(failRead).toMatchObject({
          state: "FAILURE",
          get: { exception: { exc_class: "builtins.ValueError", exc_args: ["bad input"], str: "bad input" } },
        });
        expect(failRead?.traceback).toContain("ValueError: bad input");
        // The extended fields Python's result_extended expects are in the documents.
        const stored = await database.db.collection("celery_taskmeta").findOne({ _id: sum.id as never });
        expect(stored).toMatchObject({
          name: "interop.add",
          args: [2, 8],
          kwargs: {},
          worker: "tq-interop@test",
          retries: 0,
          queue,
        });
      } finally {
        await worker.stop();
        await app.close();
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "one document, both writers: Python's STARTED is replaced by tq's SUCCESS; tq keeps Python's SUCCESS",
    async () => {
      const { backend, database } = fixture("tq2py_shared");
      const running = id("running");
      const finished = id("finished");
      await runCeleryBackend(database.url, [
        { op: "store_result", id: running, result: { pid: 1, hostname: "celery@py" }, state: "STARTED" },
        { op: "mark_as_done", id: finished, result: "python's" },
      ]);
      await backend.store({
        task_id: running,
        status: "SUCCESS",
        result: "tq's",
        traceback: null,
        children: [],
        date_done: new Date().toISOString(),
      });
      // A late failure report must not replace the SUCCESS Python stored (Celery's own rule).
      await backend.store(failure(finished, new NamedError("ValueError", "late")));
      const [runningRead, finishedRead] = (
        await runCeleryBackend(database.url, [
          { op: "read", id: running },
          { op: "read", id: finished },
        ])
      ).map(asRead);
      expect(runningRead).toMatchObject({ state: "SUCCESS", get: { value: "tq's" } });
      expect(finishedRead).toMatchObject({ state: "SUCCESS", get: { value: "python's" } });
      expect(await backend.get(finished)).toMatchObject({ status: "SUCCESS", result: "python's" });
      // Celery's plain date_done index and tq's TTL index live side by side on the one collection.
      const indexes = await database.db.collection("celery_taskmeta").listIndexes().toArray();
      expect(indexes.map((index) => [index.name, index.key, index.expireAfterSeconds])).toEqual(
        expect.arrayContaining([
          ["date_done_1", { date_done: 1 }, undefined],
          ["tq_expires_at", { tq_expires_at: 1 }, 0],
        ]),
      );
    },
    TEST_TIMEOUT_MS,
  );
});
