/**
 * The quickstart's promise, end to end through the real CLI and Redis (DB 12): a `tq worker` on
 * apps/quickstart in one process, `tq call tasks.add --args '[2,8]' --wait` in another prints 10. And an
 * unreachable Redis is one clear line and a non-zero exit, quickly, not a hang or a stack trace.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CommandResult } from "./support/interop-processes.js";
import { stopAll } from "./support/interop-processes.js";
import { flushDb, removeQueue, runTq, startTqWorker, testRedisUrl } from "./support/interop-tq.js";

const url = testRedisUrl(12);
const connection = ["--broker", url, "--result-backend", url];
// Port 1 on loopback: nothing listens there, so every connection attempt is refused at once.
const unreachable = "redis://127.0.0.1:1/0";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function lines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

/** An expected error at the CLI: exit 1, one `tq: …` line on stderr, no stack, well before the time-out. */
function expectOneLineFailure(run: CommandResult, within: number): void {
  expect(run.timedOut, `still running after ${run.durationMs} ms; stderr:\n${run.stderr}`).toBe(false);
  expect(run.status).toBe(1);
  expect(run.durationMs).toBeLessThan(within);
  const errors = lines(run.stderr);
  expect(errors, run.stderr).toHaveLength(1);
  expect(errors[0]).toMatch(/^tq: /);
  expect(run.stderr).not.toMatch(/^\s+at /m);
}

describe("quickstart through the tq CLI on Redis", () => {
  beforeAll(async () => {
    await flushDb(url);
    // The done criterion's first terminal: the real quickstart module, given as a path from the repo root.
    await startTqWorker({ app: "apps/quickstart/src/worker-app.ts", broker: url, resultBackend: url });
  }, 40_000);

  afterAll(async () => {
    await stopAll();
    await flushDb(url);
  }, 20_000);

  it("`tq call tasks.add --args '[2,8]' --wait` prints the task id, then 10", async () => {
    const run = await runTq(["call", "tasks.add", "--args", "[2,8]", "--wait", ...connection]);
    expect(run, run.stderr).toMatchObject({ status: 0, timedOut: false });
    const [id, value, ...extra] = lines(run.stdout);
    expect(id).toMatch(UUID);
    expect(value).toBe("10");
    expect(extra).toEqual([]);
    expect(run.stderr).toBe("");
    const result = await runTq(["result", id ?? "", ...connection]);
    expect(JSON.parse(result.stdout)).toEqual({ id, state: "SUCCESS", result: 10 });
  });

  it("`tq call` to an unreachable Redis fails fast with one line", async () => {
    const run = await runTq(["call", "tasks.add", "--args", "[2,8]", "--broker", unreachable], {
      timeoutMs: 15_000,
    });
    expectOneLineFailure(run, 10_000);
    expect(run.stderr).toContain("127.0.0.1:1");
  }, 20_000);

  it("`tq call --wait` with an unreachable broker and result backend fails fast with one line", async () => {
    const run = await runTq(
      [
        "call",
        "tasks.add",
        "--args",
        "[2,8]",
        "--wait",
        "--broker",
        unreachable,
        "--result-backend",
        unreachable,
      ],
      { timeoutMs: 15_000 },
    );
    expectOneLineFailure(run, 10_000);
    expect(run.stderr).toContain("127.0.0.1:1");
  }, 20_000);

  it("`tq worker` with an unreachable broker exits fast with one line instead of retrying forever", async () => {
    const run = await runTq(
      [
        "worker",
        "-A",
        "apps/quickstart/src/worker-app.ts",
        "--broker",
        unreachable,
        "--result-backend",
        unreachable,
      ],
      { timeoutMs: 15_000 },
    );
    expectOneLineFailure(run, 10_000);
  }, 20_000);

  it("`tq call` to a DB number the server does not have fails instead of using DB 0", async () => {
    // Redis has 16 databases by default: SELECT 99 fails. The message must not land in DB 0 instead.
    const queue = `tq.cli-quickstart.bad-db.${process.pid}`;
    const badDb = new URL(url);
    badDb.pathname = "/99";
    const run = await runTq([
      "call",
      "tasks.add",
      "--args",
      "[2,8]",
      "--queue",
      queue,
      "--broker",
      badDb.toString(),
    ]);
    const strays = await removeQueue(testRedisUrl(0), queue);
    expect(strays, "messages that went to DB 0").toBe(0);
    expectOneLineFailure(run, 10_000);
  });
});
