import type { ScheduleStore, StoredBeatEntry } from "@tq/core";
import { afterEach, describe, expect, it } from "vitest";

/** Options of {@link runScheduleStoreConformance}. */
export interface ScheduleStoreConformanceOptions {
  /** Shown in the test names, e.g. `"redis"`. */
  name: string;
  /**
   * Returns a NEW store instance on the same state for `namespace` on every call (two beats), and a
   * fresh, empty state for a namespace not used before. The suite uses a new namespace per test.
   */
  createStore: (namespace: string) => ScheduleStore | Promise<ScheduleStore>;
  /** Removes what a test left in `namespace`. @default nothing */
  cleanup?: (namespace: string) => Promise<void>;
}

/**
 * Registers the contract every `@tq/beat` schedule store keeps (leases held by one token at a time,
 * renewed and released by compare-and-set; runs recorded by compare-and-set and only under the lease;
 * run-time entries versioned) as vitest tests, in the caller's test file.
 */
export function runScheduleStoreConformance(options: ScheduleStoreConformanceOptions): void {
  const opened: ScheduleStore[] = [];
  const used: string[] = [];
  const open = async (namespace: string): Promise<ScheduleStore> => {
    const store = await options.createStore(namespace);
    opened.push(store);
    await store.connect();
    return store;
  };
  const pair = async (): Promise<[ScheduleStore, ScheduleStore]> => {
    const namespace = `tqss-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    used.push(namespace);
    return [await open(namespace), await open(namespace)];
  };

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
    for (const namespace of used.splice(0)) await options.cleanup?.(namespace);
  });

  describe(`${options.name} schedule store conformance`, () => {
    it("gives the lease to one token at a time and says how long the holder's has left", async () => {
      const [a, b] = await pair();
      expect(await a.acquireLease("a", 20_000)).toEqual({ acquired: true, retryInMs: 0 });
      const refused = await b.acquireLease("b", 20_000);
      expect(refused.acquired).toBe(false);
      expect(refused.retryInMs).toBeGreaterThan(10_000);
      expect(refused.retryInMs).toBeLessThanOrEqual(20_000);
      // Taking it again with the same token renews it.
      expect((await a.acquireLease("a", 20_000)).acquired).toBe(true);
      expect(await a.renewLease("a", 20_000)).toBe(true);
      expect(await b.renewLease("b", 20_000)).toBe(false);
      await b.releaseLease("b"); // not b's: nothing happens
      expect((await b.acquireLease("b", 20_000)).acquired).toBe(false);
      await a.releaseLease("a");
      expect((await b.acquireLease("b", 20_000)).acquired).toBe(true);
      expect(await a.renewLease("a", 20_000)).toBe(false);
    });

    it("lets another token take a lease that expired, and the old holder can no longer renew it", async () => {
      const [a, b] = await pair();
      expect((await a.acquireLease("a", 300)).acquired).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect((await b.acquireLease("b", 20_000)).acquired).toBe(true);
      expect(await a.renewLease("a", 20_000)).toBe(false);
      const outcomes = await a.recordRuns(
        [{ name: "x", expectedLastRunAt: null, lastRunAt: 1, runCountDelta: 1 }],
        "a",
      );
      expect(outcomes).toEqual(["not-leader"]);
    });

    it("records runs by compare-and-set, only under the lease, and reads them back", async () => {
      const [a, b] = await pair();
      await a.acquireLease("a", 20_000);
      expect(
        await a.recordRuns(
          [
            { name: "every-30", expectedLastRunAt: null, lastRunAt: 1_000, runCountDelta: 0 },
            { name: "nightly", expectedLastRunAt: null, lastRunAt: 2_000, runCountDelta: 0 },
          ],
          "a",
        ),
      ).toEqual(["recorded", "recorded"]);
      expect(
        await a.recordRuns(
          [
            { name: "every-30", expectedLastRunAt: 1_000, lastRunAt: 31_000, runCountDelta: 1 },
            { name: "nightly", expectedLastRunAt: 1_999, lastRunAt: 86_402_000, runCountDelta: 1 },
            { name: "every-30", expectedLastRunAt: null, lastRunAt: 5, runCountDelta: 0 },
          ],
          "a",
        ),
      ).toEqual(["recorded", "conflict", "conflict"]);
      expect(
        await b.recordRuns(
          [{ name: "every-30", expectedLastRunAt: 31_000, lastRunAt: 61_000, runCountDelta: 1 }],
          "b",
        ),
      ).toEqual(["not-leader"]);
      // An undone run (its send failed) takes the count back.
      expect(
        await a.recordRuns(
          [{ name: "every-30", expectedLastRunAt: 31_000, lastRunAt: 1_000, runCountDelta: -1 }],
          "a",
        ),
      ).toEqual(["recorded"]);
      const { states } = await b.load();
      expect(states).toEqual({
        "every-30": { lastRunAt: 1_000, totalRunCount: 0 },
        nightly: { lastRunAt: 2_000, totalRunCount: 0 },
      });
      expect(await a.recordRuns([], "a")).toEqual([]);
    });

    it("keeps run-time entries, versioned, and removes one with its state", async () => {
      const [a, b] = await pair();
      const empty = await b.load();
      expect(empty).toMatchObject({ states: {}, entries: {} });
      const entry: StoredBeatEntry = {
        task: "tasks.add",
        schedule: { kind: "crontab", minute: "50", hour: "10", timezone: "Asia/Shanghai" },
        args: [16, 16],
        kwargs: { "$odd.key": true },
        options: { queue: "periodic", expires: 30 },
      };
      await a.setEntry("add at 10:50", entry);
      const version = await b.entriesVersion();
      expect(version).not.toBe(empty.entriesVersion);
      expect((await b.load()).entries).toEqual({ "add at 10:50": entry });
      await a.acquireLease("a", 20_000);
      await a.recordRuns(
        [{ name: "add at 10:50", expectedLastRunAt: null, lastRunAt: 7, runCountDelta: 0 }],
        "a",
      );
      expect(await b.deleteEntry("add at 10:50")).toBe(true);
      expect(await b.deleteEntry("add at 10:50")).toBe(false);
      expect(await a.entriesVersion()).not.toBe(version);
      expect(await a.load()).toMatchObject({ states: {}, entries: {} });
    });
  });
}
