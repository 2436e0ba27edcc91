/**
 * The quickstart through the real CLI on SQS: `tq worker` in one process, `tq call tasks.add --args
 * '[2,8]' --wait` in another prints 10. The broker is fauxqs (or TQ_TEST_SQS_ENDPOINT); the worker
 * finds it through the AWS environment (AWS_ENDPOINT_URL_SQS), the client through the URL's host, as
 * kombu reads `sqs://host:port`. Results in Redis DB 11.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ManagedProcess, REPO_ROOT, runCommand, stopAll, TQ_BIN } from "@tq/test-processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onFauxqs, RawSqs, sqsEndpoint, uniqueName } from "./support/sqs.js";

const APP = path.join(path.dirname(fileURLToPath(import.meta.url)), "cli/tq-app.ts");
const backend = process.env.TQ_TEST_REDIS_URL
  ? Object.assign(new URL(process.env.TQ_TEST_REDIS_URL), { pathname: "/11" }).toString()
  : "redis://127.0.0.1:6379/11";
const prefix = `${uniqueName("cli")}-`;
const raw = new RawSqs(prefix);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function awsEnv(): Record<string, string> {
  return {
    AWS_REGION: process.env.AWS_REGION ?? "us-east-1",
    AWS_ENDPOINT_URL_SQS: sqsEndpoint(),
    ...(onFauxqs() ? { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test" } : {}),
  };
}

describe("quickstart through the tq CLI on SQS", () => {
  beforeAll(async () => {
    const worker = new ManagedProcess(
      "tq worker",
      process.execPath,
      [
        TQ_BIN,
        "worker",
        "-A",
        APP,
        "-l",
        "info",
        "-c",
        "2",
        "--broker",
        `sqs://?queue_name_prefix=${prefix}&wait_time_seconds=1`,
        "--result-backend",
        backend,
      ],
      { cwd: REPO_ROOT, env: awsEnv() },
    );
    await worker.waitForOutput(/"msg":"worker ready"/, 20_000);
  }, 40_000);

  afterAll(async () => {
    await stopAll();
    await raw.deleteQueues(["celery"]);
    raw.close();
  }, 40_000);

  it("`tq call tasks.add --args '[2,8]' --wait` prints the task id, then 10", async () => {
    const endpoint = new URL(sqsEndpoint());
    const auth = onFauxqs() ? "test:test@" : "";
    const broker = `sqs://${auth}${endpoint.host}?queue_name_prefix=${prefix}${endpoint.protocol === "https:" ? "&is_secure=true" : ""}`;
    const run = await runCommand(
      process.execPath,
      [
        TQ_BIN,
        "call",
        "tasks.add",
        "--args",
        "[2,8]",
        "--wait",
        "-A",
        APP,
        "--broker",
        broker,
        "--result-backend",
        backend,
      ],
      { cwd: REPO_ROOT, env: { AWS_REGION: process.env.AWS_REGION ?? "us-east-1" }, timeoutMs: 20_000 },
    );
    expect(run, run.stderr).toMatchObject({ status: 0, timedOut: false });
    const [id, value, ...extra] = run.stdout.split("\n").filter((line) => line !== "");
    expect(id).toMatch(UUID);
    expect(value).toBe("10");
    expect(extra).toEqual([]);
  });
});
