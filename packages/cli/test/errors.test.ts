import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { lines, runCli } from "./run-cli.js";

const emptyDirectory = mkdtempSync(path.join(tmpdir(), "tq-cli-empty-"));
afterAll(() => rmSync(emptyDirectory, { recursive: true, force: true }));

/** Asserts the run failed with exactly this one stderr line and printed nothing on stdout. */
function expectOneLine(
  run: { code: number | null; stdout: string; stderr: string },
  line: string | RegExp,
): void {
  expect(run.code).toBe(1);
  expect(run.stdout).toBe("");
  expect(lines(run.stderr)).toHaveLength(1);
  if (typeof line === "string") expect(run.stderr).toBe(`${line}\n`);
  else expect(run.stderr.trimEnd()).toMatch(line);
}

describe("tq errors", () => {
  const memoryBroker =
    "tq: the broker is memory://, which only this process can reach: pass --broker URL or set TQ_BROKER_URL " +
    "(e.g. redis://localhost:6379/0)";

  it("refuses to send through memory:// without -A, since no worker can be reached", async () => {
    expectOneLine(await runCli(["call", "tasks.add", "--args", "[2, 3]"]), memoryBroker);
  });

  it("refuses memory:// with -A too, instead of waiting for a worker that cannot exist", async () => {
    expectOneLine(
      await runCli(["call", "-A", "app.ts", "tasks.add", "--args", "[2,3]", "--wait"]),
      memoryBroker,
    );
  });

  it("refuses to purge or read results on memory://", async () => {
    expectOneLine(await runCli(["purge", "-f"]), memoryBroker);
    expectOneLine(
      await runCli(["result", "some-id"]),
      /^tq: the result backend is memory:\/\/, .*TQ_RESULT_BACKEND/,
    );
  });

  it("names the package and the install command for a transport that is not installed", async () => {
    const run = await runCli(["call", "tasks.add", "--broker", "redis://127.0.0.1:6379/0"], {
      cwd: emptyDirectory,
    });
    expectOneLine(
      run,
      "tq: broker URL redis://127.0.0.1:6379/0 needs the @tq/redis package: npm install @tq/redis",
    );
  });

  it("reads TQ_BROKER_URL and hides its password", async () => {
    const run = await runCli(["purge", "-f"], {
      cwd: emptyDirectory,
      env: { TQ_BROKER_URL: "amqp://guest:s3cret@127.0.0.1:5672//" },
    });
    expectOneLine(
      run,
      "tq: broker URL amqp://guest:***@127.0.0.1:5672// needs the @tq/amqp package: npm install @tq/amqp",
    );
  });

  it("lets --broker win over TQ_BROKER_URL, and checks the result backend's URL too", async () => {
    const run = await runCli(
      ["result", "x", "--broker", "memory://", "--result-backend", "mongodb://db/tq"],
      {
        cwd: emptyDirectory,
        env: { TQ_BROKER_URL: "redis://127.0.0.1:6379/0" },
      },
    );
    expectOneLine(
      run,
      "tq: result backend URL mongodb://db/tq needs the @tq/mongo package: npm install @tq/mongo",
    );
  });

  it("reports an unknown scheme and a URL without one", async () => {
    expectOneLine(
      await runCli(["call", "t", "--broker", "nats://127.0.0.1:4222"]),
      /^tq: broker URL nats:\/\/127\.0\.0\.1:4222: no transport is registered for "nats:"/,
    );
    expectOneLine(
      await runCli(["call", "t", "--broker", "/tmp/queue"]),
      /^tq: "\/tmp\/queue" is not a URL with a scheme/,
    );
  });

  it.each([
    [
      ["worker", "-A", "missing.ts"],
      /^tq: cannot find the app module missing\.ts \(no file at .*missing\.ts\)$/,
    ],
    [["call", "-A", "./nowhere/app", "tasks.add"], /^tq: cannot find the app module \.\/nowhere\/app/],
    [["worker", "-A", "not-an-app.mjs"], /^tq: the app export of not-an-app\.mjs is not a tq app/],
    [
      ["worker", "-A", "no-app.mjs"],
      /^tq: no-app\.mjs exports no app: add `export const app = createApp\(…\)`/,
    ],
    [
      ["worker", "-A", "throws.mjs"],
      /^tq: loading the app module throws\.mjs failed: the app module failed on purpose$/,
    ],
  ])("reports a bad app module %j in one line", async (args, message) => {
    expectOneLine(await runCli(args), message);
  });

  it("reports an unreachable broker in one line", async () => {
    const line = "tq: [down] cannot connect to down://127.0.0.1:1 (ECONNREFUSED)";
    expectOneLine(await runCli(["worker", "-A", "unreachable.mjs"]), line);
    expectOneLine(await runCli(["call", "-A", "unreachable.mjs", "tasks.add", "--args", "[1, 2]"]), line);
    expectOneLine(await runCli(["purge", "-A", "unreachable.mjs", "-f"]), line);
  });

  it("refuses --wait when the app keeps no results", async () => {
    const run = await runCli(["call", "-A", "no-results.mjs", "tasks.add", "--wait"]);
    expectOneLine(
      run,
      /^tq: the app has no result backend: pass --result-backend URL or set TQ_RESULT_BACKEND/,
    );
  });

  it("explains why --broker cannot apply to an app that connected on import", async () => {
    const run = await runCli(["call", "-A", "loopback.mjs", "tasks.add", "--result-backend", "none"]);
    expectOneLine(
      run,
      /^tq: cannot switch the app to another result backend: loopback\.mjs connects while it is imported;/,
    );
  });

  it("prints the stack with --debug", async () => {
    const run = await runCli(["worker", "-A", "throws.mjs", "--debug"]);
    expect(run.code).toBe(1);
    expect(lines(run.stderr)[0]).toMatch(/^tq: loading the app module throws\.mjs failed/);
    expect(run.stderr).toMatch(/caused by: Error: the app module failed on purpose\n\s+at /);
  });
});
