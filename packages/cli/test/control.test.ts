import { describe, expect, it } from "vitest";
import { lines, runCli } from "./run-cli.js";

// loopback.mjs runs on a transport without broadcast, which shows how `tq control` fails there.
const app = ["-A", "loopback.mjs"];

describe("tq control", () => {
  it("prints help for revoke and rate_limit with their flags and the common ones", async () => {
    const revoke = await runCli(["control", "revoke", "--help"]);
    expect(revoke.code).toBe(0);
    for (const flag of [
      "<id...>",
      "--terminate",
      "-s, --signal <name>",
      "-d, --destination <nodes>",
      "--broker <url>",
    ]) {
      expect(revoke.stdout).toContain(flag);
    }
    const rate = await runCli(["control", "rate_limit", "--help"]);
    expect(rate.code).toBe(0);
    for (const text of ["<task>", "<rate>", "-d, --destination <nodes>", "--broker <url>"]) {
      expect(rate.stdout).toContain(text);
    }
    const top = await runCli(["--help"]);
    expect(top.stdout).toContain("control");
  });

  it("tq worker takes --statedb", async () => {
    const run = await runCli(["worker", "--help"]);
    expect(run.stdout).toContain("--statedb <file>");
  });

  it("says remote control needs a broker with broadcast, in one line, exit 1", async () => {
    const run = await runCli(["control", "revoke", ...app, "some-id"]);
    expect(run.code).toBe(1);
    expect(lines(run.stderr)).toEqual([
      expect.stringMatching(/^tq: \[control\] remote control \(revoke\) needs a broker with broadcast/),
    ]);
    expect(run.stdout).toBe("");
  });

  it("refuses the in-process memory broker, which no worker can share", async () => {
    const run = await runCli(["control", "revoke", "some-id"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^tq: the broker is memory:\/\//);
  });

  it("checks the signal and the rate before sending", async () => {
    const signal = await runCli([
      "control",
      "revoke",
      ...app,
      "some-id",
      "--terminate",
      "--signal",
      "sigterm",
    ]);
    expect(signal.code).toBe(1);
    expect(signal.stderr).toMatch(
      /signal must be an upper-case signal name such as "SIGTERM" or "KILL", got "sigterm"/,
    );
    const rate = await runCli(["control", "rate_limit", ...app, "tasks.add", "10/d"]);
    expect(rate.code).toBe(1);
    expect(rate.stderr).toMatch(/invalid rate limit "10\/d"/);
  });

  it("reports an unknown control command as commander does, in one line", async () => {
    const run = await runCli(["control", "inspect"]);
    expect(run.code).toBe(1);
    expect(lines(run.stderr)).toEqual([expect.stringMatching(/^tq: unknown command 'inspect'/)]);
  });
});
