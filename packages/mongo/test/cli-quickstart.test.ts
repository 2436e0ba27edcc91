/**
 * The quickstart's promise on MongoDB, end to end through the real CLI: `tq worker -A app.mjs --broker
 * mongodb://… --result-backend mongodb://…` in one process, `tq call tasks.add --args '[2,8]' --wait` in
 * another prints 10. The app lives in a directory laid out like a user's project (`node_modules/@tq/core`
 * and `node_modules/@tq/mongo`, the BUILT package), so the CLI loads @tq/mongo for mongodb:// by itself.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  type CommandResult,
  ManagedProcess,
  REPO_ROOT,
  runCommand,
  stopAll,
  TQ_BIN,
} from "@tq/test-processes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestDatabase } from "./support/mongo.js";

const PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const APP = `import { createApp } from "@tq/core";

export const app = createApp({ name: "quickstart" });

export const add = app.task("tasks.add", (x, y) => x + y, { params: ["x", "y"] });
`;

const database = new TestDatabase("cli");
const connection = ["--broker", database.url, "--result-backend", database.url];
let project = "";

function lines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

function runTq(args: readonly string[], timeoutMs = 20_000): Promise<CommandResult> {
  return runCommand(process.execPath, [TQ_BIN, ...args], { cwd: project, timeoutMs });
}

describe("quickstart through the tq CLI on MongoDB", () => {
  beforeAll(async () => {
    if (!existsSync(path.join(PACKAGE_DIR, "dist/index.js"))) {
      throw new Error("packages/mongo/dist is missing: run `pnpm turbo run build --filter=@tq/mongo` first");
    }
    project = await mkdtemp(path.join(tmpdir(), "tq-mongo-cli-"));
    await mkdir(path.join(project, "node_modules/@tq"), { recursive: true });
    await symlink(path.join(REPO_ROOT, "packages/core"), path.join(project, "node_modules/@tq/core"), "dir");
    await symlink(PACKAGE_DIR, path.join(project, "node_modules/@tq/mongo"), "dir");
    await writeFile(path.join(project, "app.mjs"), APP);
    const worker = new ManagedProcess(
      "tq worker",
      process.execPath,
      [TQ_BIN, "worker", "-A", "app.mjs", "-l", "info", "-c", "2", ...connection],
      { cwd: project },
    );
    await worker.waitForOutput(/"msg":"worker ready"/, 20_000);
  }, 40_000);

  afterAll(async () => {
    await stopAll();
    await database.drop();
    if (project) await rm(project, { recursive: true, force: true });
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

  it("`tq call` to an unreachable MongoDB fails with one line, not a hang or a stack", async () => {
    // Port 1 on loopback: nothing listens, so server selection fails (after its 10 s default at most).
    const run = await runTq(
      [
        "call",
        "tasks.add",
        "--args",
        "[2,8]",
        "--broker",
        "mongodb://127.0.0.1:1/tq?serverSelectionTimeoutMS=1000",
      ],
      15_000,
    );
    expect(run.timedOut, run.stderr).toBe(false);
    expect(run.status).toBe(1);
    const errors = lines(run.stderr);
    expect(errors, run.stderr).toHaveLength(1);
    expect(errors[0]).toMatch(/^tq: /);
    expect(run.stderr).not.toMatch(/^\s+at /m);
  }, 20_000);
});
