import { describe, expect, it } from "vitest";
import { lines, runCli } from "./run-cli.js";

describe("tq usage", () => {
  it("prints help listing every command", async () => {
    const run = await runCli(["--help"]);
    expect(run.code).toBe(0);
    for (const command of ["worker", "call", "result", "purge"]) expect(run.stdout).toContain(command);
  });

  it.each([
    [
      "worker",
      ["-A, --app <module>", "-Q, --queues", "-c, --concurrency", "-l, --loglevel", "-n, --hostname"],
    ],
    [
      "call",
      [
        "--args <json>",
        "--kwargs <json>",
        "--queue",
        "--countdown",
        "--eta",
        "--expires",
        "--priority",
        "--wait",
        "--timeout",
      ],
    ],
    ["result", ["<id>", "--wait", "--timeout"]],
    ["purge", ["-Q, --queues", "-f, --force"]],
  ])("prints help for %s with its flags and the common ones", async (command, flags) => {
    const run = await runCli([command, "--help"]);
    expect(run.code).toBe(0);
    for (const flag of [...flags, "--broker <url>", "--result-backend <url>", "--debug"]) {
      expect(run.stdout).toContain(flag);
    }
  });

  it("prints its version", async () => {
    const run = await runCli(["--version"]);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it.each([
    [["call", "tasks.add", "--nope"], /^tq: unknown option '--nope'/],
    [["purge", "--forse"], /^tq: unknown option '--forse' \(Did you mean --force\?\)$/],
    [["frobnicate"], /^tq: unknown command 'frobnicate'/],
    [["worker"], /^tq: required option '-A, --app <module>' not specified$/],
    [["call"], /^tq: missing required argument 'name'$/],
    [
      ["call", "tasks.add", "--args", '{"x": 1}'],
      /^tq: option '--args <json>' argument .* is invalid\. expected a JSON array/,
    ],
    [
      ["call", "tasks.add", "--args", "[2,"],
      /^tq: option '--args <json>' argument '\[2,' is invalid\. not valid JSON/,
    ],
    [["call", "tasks.add", "--kwargs", "[1]"], /is invalid\. expected a JSON object/],
    [["call", "tasks.add", "--eta", "tomorrow"], /is invalid\. expected an ISO 8601 date/],
    [["worker", "-A", "app.mjs", "-c", "0"], /^tq: option '-c, --concurrency <n>' argument '0' is invalid/],
    [["worker", "-A", "app.mjs", "-l", "loud"], /is invalid\. expected one of trace, debug, info/],
  ])("rejects %j with one line on stderr and exit 1", async (args, message) => {
    const run = await runCli(args);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(lines(run.stderr)).toHaveLength(1);
    expect(run.stderr.trimEnd()).toMatch(message);
  });
});
