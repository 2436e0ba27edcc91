/**
 * The per-task paths build their log lines and events only for someone who reads them, and a task's
 * abort signal exists only once it is asked for, yet still aborts.
 */
import { currentTask, type Logger } from "@tq/core";
import { afterEach, describe, expect, it } from "vitest";
import { cleanUp, makeHarness, recordingLogger } from "./helpers.js";

afterEach(cleanUp);

describe("a worker's per-task work", () => {
  it("asks the logger before it builds a line, and writes the levels it says are on", async () => {
    const records = recordingLogger();
    const asked: string[] = [];
    const logger: Logger = {
      ...records,
      isLevelEnabled: (level) => {
        asked.push(level);
        return level !== "info" && level !== "debug";
      },
    };
    const { app, worker } = makeHarness({ app: { logger } });
    const add = app.task("quiet.add", (x: number, y: number) => x + y);
    await worker.start();
    expect(await add.delay(2, 8).get({ timeout: 5 })).toBe(10);
    expect(asked).toContain("info");
    expect(records.records.some((record) => record.message.startsWith("task succeeded"))).toBe(false);
  });

  it("emits task events only to listeners, and to every listener added while it runs", async () => {
    const { app, worker } = makeHarness();
    const add = app.task("quiet.add", (x: number, y: number) => x + y);
    await worker.start();
    expect(await add.delay(1, 1).get({ timeout: 5 })).toBe(2);
    const seen: string[] = [];
    worker.on("task-succeeded", (event) => seen.push(`${event.taskName}=${String(event.result)}`));
    expect(await add.delay(2, 2).get({ timeout: 5 })).toBe(4);
    expect(seen).toEqual(["quiet.add=4"]);
  });

  it("makes the task's signal when asked, and aborts it at the time limit", async () => {
    const { app, worker } = makeHarness();
    let aborted: unknown;
    const slow = app.task(
      "quiet.slow",
      async () => {
        const signal = currentTask()!.signal;
        await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve()));
        aborted = signal.reason;
      },
      { timeLimit: 0.2 },
    );
    await worker.start();
    await expect(slow.delay().get({ timeout: 5 })).rejects.toThrow(/TimeLimitExceeded/);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(String(aborted)).toMatch(/TimeLimitExceeded\(0\.2\)/);
  });
});
