import { describe, expect, it } from "vitest";
import { lines, runCli } from "./run-cli.js";

// loopback.mjs reaches an in-memory broker through a transport of its own and runs a worker on import,
// so these commands run end to end inside one CLI process.
const app = ["-A", "loopback.mjs"];

describe("tq call", () => {
  it("prints the task id, then with --wait its result as one line of JSON", async () => {
    const run = await runCli(["call", ...app, "tasks.add", "--args", "[2, 3]", "--wait"]);
    expect(run).toMatchObject({ code: 0, stderr: "" });
    const [id, result, ...rest] = lines(run.stdout);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(result).toBe("5");
    expect(rest).toEqual([]);
  });

  it("maps --kwargs onto the task's params and honours --queue", async () => {
    const run = await runCli(["call", ...app, "tasks.add", "--kwargs", '{"x": 4, "y": 6}', "--wait"]);
    expect(lines(run.stdout)[1]).toBe("10");
    const queued = await runCli(["call", ...app, "tasks.add", "--args", "[1, 1]", "--queue", "idle"]);
    expect(queued.code).toBe(0);
    expect(lines(queued.stdout)).toHaveLength(1);
  });

  it("prints a failure on stderr and exits 1", async () => {
    const run = await runCli(["call", ...app, "tasks.fail", "--wait"]);
    expect(run.code).toBe(1);
    expect(lines(run.stdout)).toHaveLength(1);
    expect(lines(run.stderr)).toEqual([
      expect.stringMatching(/^tq: task [0-9a-f-]{36} failed: TypeError: this task fails on purpose$/),
    ]);
  });

  it("shows the remote traceback of a failure with --debug", async () => {
    const run = await runCli(["call", ...app, "tasks.fail", "--wait", "--debug"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("remote traceback:");
  });

  it("gives up after --timeout with exit 2 and says how to look later", async () => {
    const started = Date.now();
    const run = await runCli(["call", ...app, "tasks.sleep", "--args", "[30]", "--timeout", "0.3"]);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(run.code).toBe(2);
    const [id] = lines(run.stdout);
    expect(run.stderr).toBe(
      `tq: task ${id} did not finish within 0.3 s; it may still run: tq result ${id} --wait\n`,
    );
  });
});

describe("tq result", () => {
  it("prints state and result of a finished task", async () => {
    const run = await runCli(["result", ...app, "known-success"]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ id: "known-success", state: "SUCCESS", result: 5 });
    expect(lines(run.stdout)).toHaveLength(1);
  });

  it("prints the stored exception and traceback of a failed task", async () => {
    const run = await runCli(["result", ...app, "known-failure", "--wait"]);
    const report = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({
      id: "known-failure",
      state: "FAILURE",
      result: { exc_type: "TypeError", exc_message: ["this task fails on purpose"] },
    });
    expect(report.traceback).toContain("this task fails on purpose");
  });

  it("says PENDING for an unknown id, and times out waiting for it with exit 2", async () => {
    expect(JSON.parse((await runCli(["result", ...app, "nobody"])).stdout)).toEqual({
      id: "nobody",
      state: "PENDING",
      result: null,
    });
    const run = await runCli(["result", ...app, "nobody", "--timeout", "0.2"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^tq: task nobody did not finish within 0\.2 s/);
  });
});

describe("tq purge", () => {
  it("deletes waiting messages and prints the count per queue", async () => {
    const run = await runCli(["purge", ...app, "-Q", "idle,empty", "--force"]);
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(lines(run.stdout)).toEqual([
      "purged 3 messages from queue idle",
      "purged 0 messages from queue empty",
    ]);
  });

  it("asks for --force when there is no terminal to confirm on", async () => {
    const run = await runCli(["purge", ...app, "-Q", "idle"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe("tq: purge deletes every waiting message of idle; pass -f/--force to confirm\n");
  });
});
