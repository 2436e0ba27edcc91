import { expect } from "vitest";
import type { DefineWorkerTest } from "./worker-suite.js";

/** The ground the other worker tests stand on: a task sent by one app runs on another app's worker. */
export function registerBasicWorkerTests(defineTest: DefineWorkerTest): void {
  defineTest("a task sent by a client runs on a worker and its result is stored", async (harness) => {
    const workerApp = harness.makeApp();
    workerApp.task("suite.add", (x: number, y: number) => x + y);
    await harness.startWorker(workerApp);
    const client = harness.makeApp();
    const result = client.sendTask<number>("suite.add", [2, 3]);
    expect(await result.get({ timeout: harness.options.timeoutMs })).toBe(5);
  });
}
