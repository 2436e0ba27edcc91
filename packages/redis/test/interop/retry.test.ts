/**
 * Retries on a tq worker, called by a Python Celery 5.2 client through Redis (DB 10): Python waits
 * through the RETRY states and reads the final result, or the original error once retries are spent,
 * as from a Celery worker.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stopAll } from "../support/interop-processes.js";
import { type PythonOutcome, runPythonClient } from "../support/interop-python.js";
import { removeQueue, startTqWorker, testRedisUrl } from "../support/interop-tq.js";

const url = testRedisUrl(10);
const queue = `interop.retry.${process.pid}`;
const target = { broker: url, resultBackend: url, queue };

function outcomeOf(outcome: PythonOutcome | undefined): PythonOutcome {
  if (!outcome) throw new Error("the Python client printed no outcome");
  return outcome;
}

describe("Python Celery client → tq worker retrying (Redis)", () => {
  beforeAll(async () => {
    await startTqWorker({ broker: url, resultBackend: url, queues: [queue], hostname: "tq-retry@test" });
  }, 40_000);

  afterAll(async () => {
    await stopAll();
    await removeQueue(url, queue);
  }, 20_000);

  it("an autoretried task succeeds on its third run; Python reads the result and retries 2", async () => {
    const [success, spent] = await runPythonClient(target, [
      { task: "tasks.retry_twice" },
      { task: "tasks.retry_spent", args: ["still failing"] },
    ]);
    expect(outcomeOf(success)).toMatchObject({ ok: true, state: "SUCCESS", result: 2 });
    expect(outcomeOf(success).meta).toMatchObject({ status: "SUCCESS", retries: 2 });
    // Spent: the task fails with the error it retried on, which Python raises as its own TypeError.
    expect(outcomeOf(spent)).toMatchObject({
      ok: false,
      state: "FAILURE",
      exc_class: "builtins.TypeError",
      exc_args: ["still failing"],
    });
    expect(outcomeOf(spent).meta).toMatchObject({ retries: 1 });
  });
});
