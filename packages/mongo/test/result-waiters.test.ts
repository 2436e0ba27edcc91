/**
 * How `waitFor` polls without change streams, on fake timers (so the schedule is counted, not timed):
 * a read at once, re-checks from 5 ms doubling to the cap, one read per round for every wait.
 */
import { randomUUID } from "node:crypto";
import type { TaskMeta } from "@tq/core";
import { noopLogger } from "@tq/core";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { resolveBackendOptions } from "../src/backend-options.js";
import { ResultWaiters } from "../src/result-waiters.js";
import type { ChangeWatcher } from "../src/wakeups.js";

const noWatcher = { subscribe: () => () => {} } as unknown as ChangeWatcher;

function meta(taskId: string): TaskMeta {
  return { task_id: taskId, status: "SUCCESS", result: 10, traceback: null, children: [], date_done: null };
}

function waiters(ready: Set<string>) {
  const reads: string[][] = [];
  const { pollIntervalMs, maxPollIntervalMs } = resolveBackendOptions({ url: "mongodb://127.0.0.1/x" });
  const created = new ResultWaiters({
    readReady: async (taskIds) => {
      reads.push([...taskIds]);
      return { ready: taskIds.filter((id) => ready.has(id)).map(meta), failed: [] };
    },
    watcher: noWatcher,
    localKey: `waiters-test/${randomUUID()}`,
    pollIntervalMs,
    maxPollIntervalMs,
    logger: noopLogger,
  });
  return { waiters: created, reads };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("ResultWaiters", () => {
  it("re-checks 5 ms after the first read, doubling, so a result stored soon after is seen soon after", async () => {
    const ready = new Set<string>();
    const { waiters: pending, reads } = waiters(ready);
    let result: TaskMeta | undefined;
    void pending.wait("t1").then((meta) => {
      result = meta;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(reads).toHaveLength(1); // at once
    await vi.advanceTimersByTimeAsync(5);
    expect(reads).toHaveLength(2); // +5 ms
    await vi.advanceTimersByTimeAsync(10);
    expect(reads).toHaveLength(3); // +10 ms
    ready.add("t1");
    await vi.advanceTimersByTimeAsync(19);
    expect(result).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(reads).toHaveLength(4); // +20 ms: 35 ms after the wait began
    expect(result?.task_id).toBe("t1");
    await pending.close();
  });

  it("backs off to the 1 s cap while nothing comes, and a new wait reads at once", async () => {
    const { waiters: pending, reads } = waiters(new Set());
    void pending.wait("slow").catch(() => {});
    await vi.advanceTimersByTimeAsync(10_000);
    // 0, 5, 15, 35, 75, 155, 315, 635, 1275 ms, then every second up to 10 s.
    expect(reads).toHaveLength(9 + 8);
    void pending.wait("fresh").catch(() => {});
    await vi.advanceTimersByTimeAsync(0);
    expect(reads).toHaveLength(18);
    await vi.advanceTimersByTimeAsync(5);
    expect(reads).toHaveLength(19);
    await pending.close();
  });

  it("serves every wait with one read per round", async () => {
    const ready = new Set<string>();
    const { waiters: pending, reads } = waiters(ready);
    const waits = ["a", "b", "c"].map((id) => pending.wait(id));
    await vi.advanceTimersByTimeAsync(0);
    const first = reads.length;
    expect(reads.at(-1)?.sort()).toEqual(["a", "b", "c"]);
    ready.add("a");
    ready.add("b");
    ready.add("c");
    await vi.advanceTimersByTimeAsync(5);
    expect(reads).toHaveLength(first + 1);
    expect((await Promise.all(waits)).map((meta) => meta.task_id)).toEqual(["a", "b", "c"]);
    await pending.close();
  });
});
