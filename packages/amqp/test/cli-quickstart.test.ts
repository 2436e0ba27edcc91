/**
 * The quickstart's promise on RabbitMQ, end to end through the real CLI: a `tq worker` on
 * apps/quickstart in one process and `tq call tasks.add --args '[2,8]' --wait` in another, both with
 * `--broker amqp://guest:guest@127.0.0.1:5672//`, print 10, with `--result-backend rpc://` and with a
 * Redis backend (DB 13). And an unreachable RabbitMQ is one clear line and a non-zero exit, quickly.
 *
 * The quickstart sends to the `celery` queue unless told otherwise; TQ_TASK_DEFAULT_QUEUE (read by
 * createApp) gives each run a queue of its own on the shared server.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AmqpProbe, testAmqpUrl, uniquePrefix } from "./support/interop-amqp.js";
import { type CommandResult, stopAll } from "./support/interop-processes.js";
import { deleteResults, runTq, startTqWorker, testRedisUrl } from "./support/interop-tq.js";

const QUICKSTART_APP = "apps/quickstart/src/worker-app.ts";
const broker = testAmqpUrl();
const redisUrl = testRedisUrl();
const prefix = uniquePrefix();
// Port 1 on loopback: nothing listens there, so every connection attempt is refused at once.
const unreachable = "amqp://guest:guest@127.0.0.1:1//";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const queues: string[] = [];
const redisTaskIds: string[] = [];
let probe: AmqpProbe;

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

beforeAll(() => {
  probe = new AmqpProbe(broker);
});

afterAll(async () => {
  await stopAll();
  await deleteResults(redisUrl, redisTaskIds);
  // The queue, and the direct exchange of the same name that Celery's topology binds it to.
  await probe?.remove({ queues, exchanges: queues });
  await probe?.close();
}, 30_000);

describe.each([
  { backend: "rpc://", label: "rpc" },
  { backend: redisUrl, label: "redis" },
])("quickstart through the tq CLI on RabbitMQ, --result-backend $backend", ({ backend, label }) => {
  const queue = `${prefix}quickstart-${label}`;
  // Both terminals of the done criterion get the same queue, as they would get the same URLs.
  const env = { TQ_TASK_DEFAULT_QUEUE: queue };
  const connection = ["--broker", broker, "--result-backend", backend];

  beforeAll(async () => {
    queues.push(queue);
    // The first terminal: the real quickstart module, given as a path from the repo root.
    await startTqWorker({ app: QUICKSTART_APP, broker, resultBackend: backend, env });
  }, 40_000);

  afterAll(async () => {
    await stopAll();
  }, 20_000);

  it("`tq call tasks.add --args '[2,8]' --wait` prints the task id, then 10", async () => {
    const run = await runTq(["call", "tasks.add", "--args", "[2,8]", "--wait", ...connection], { env });
    expect(run, run.stderr).toMatchObject({ status: 0, timedOut: false });
    const [id, value, ...extra] = lines(run.stdout);
    expect(id).toMatch(UUID);
    expect(value).toBe("10");
    expect(extra).toEqual([]);
    expect(run.stderr).toBe("");
    redisTaskIds.push(id ?? "");
    // The worker consumed the test's own queue, and nothing is left in it.
    expect(await probe.queue(queue)).toMatchObject({ messages: 0 });
  });
});

describe("an unreachable RabbitMQ at the CLI", () => {
  it("`tq call` fails fast with one line", async () => {
    const run = await runTq(["call", "tasks.add", "--args", "[2,8]", "--broker", unreachable], {
      timeoutMs: 15_000,
    });
    expectOneLineFailure(run, 10_000);
    expect(run.stderr).toContain("127.0.0.1:1");
  }, 20_000);

  it("`tq call --wait --result-backend rpc://` fails fast with one line", async () => {
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
        "rpc://",
      ],
      { timeoutMs: 15_000 },
    );
    expectOneLineFailure(run, 10_000);
    expect(run.stderr).toContain("127.0.0.1:1");
  }, 20_000);

  it("`tq worker` exits fast with one line instead of retrying forever", async () => {
    const run = await runTq(
      ["worker", "-A", QUICKSTART_APP, "--broker", unreachable, "--result-backend", "rpc://"],
      { timeoutMs: 15_000 },
    );
    expectOneLineFailure(run, 10_000);
  }, 20_000);
});
