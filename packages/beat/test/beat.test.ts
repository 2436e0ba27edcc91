/**
 * Beat on a controllable clock (vitest's fake timers fake `Date.now` and the timers beat sleeps on)
 * with the in-memory store and broker: what it sends, when, across restarts, downtime, daylight
 * saving, a lost leader and a split brain.
 */
import { TqError } from "@tq/core";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type Beat, type BeatEvents, createBeat, crontab, every, MemoryScheduleStore } from "../src/index.js";
import { CuttableStore, dueTimes, makeApp, recordSends, SplitBrainStore } from "./helpers.js";

const T0 = "2025-01-01T00:00:00.000Z";
const plus = (seconds: number, from = T0) => new Date(Date.parse(from) + seconds * 1000).toISOString();
const beats: Beat[] = [];

function track(beat: Beat): Beat {
  beats.push(beat);
  return beat;
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date(T0));
});

afterEach(async () => {
  for (const beat of beats.splice(0)) await beat.stop();
  vi.useRealTimers();
});

describe("beat on a fake clock", () => {
  it("sends an interval entry every 30 s from when it first saw it, with Celery's periodic_task_name header", async () => {
    const app = makeApp({
      "add every 30 seconds": { task: "tasks.add", schedule: every(30), args: [16, 16] },
    });
    const published: { taskName: string; args: readonly unknown[]; header: unknown }[] = [];
    app.signals.on("beforeTaskPublish", ({ taskName, args, headers }) => {
      published.push({ taskName, args, header: headers.periodic_task_name });
    });
    const beat = track(createBeat(app, { store: new MemoryScheduleStore() }));
    const sends = recordSends(beat);
    await beat.start();
    expect(beat.isLeader).toBe(true);

    await vi.advanceTimersByTimeAsync(29_999);
    expect(sends).toEqual([]);
    await vi.advanceTimersByTimeAsync(95_000 - 29_999);
    expect(dueTimes(sends)).toEqual([plus(30), plus(60), plus(90)]);
    expect(published).toEqual(
      Array.from({ length: 3 }, () => ({
        taskName: "tasks.add",
        args: [16, 16],
        header: "add every 30 seconds",
      })),
    );
  });

  it("sleeps on one timer whatever the number of entries (no polling)", async () => {
    const schedule = Object.fromEntries(
      Array.from({ length: 2000 }, (_, i) => [
        `entry-${i}`,
        { task: "tasks.noop", schedule: every(60 + (i % 50)) },
      ]),
    );
    const beat = track(createBeat(makeApp(schedule), { store: new MemoryScheduleStore() }));
    const sends = recordSends(beat);
    await beat.start();
    // One scheduling timer and the lease renewal: nothing per entry.
    expect(vi.getTimerCount()).toBe(2);
    await vi.advanceTimersByTimeAsync(59_000);
    expect(sends).toHaveLength(0);
    expect(vi.getTimerCount()).toBe(2);
    await vi.advanceTimersByTimeAsync(2_000); // 61 s: the entries every 60 s and 61 s ran, once each
    expect(sends).toHaveLength(80);
    expect(new Set(sends.map((send) => send.entry)).size).toBe(80);
  });

  it("runs a crontab entry across daylight saving in America/New_York and Europe/Berlin", async () => {
    vi.setSystemTime(new Date("2025-03-08T00:00:00Z"));
    const daily = { task: "tasks.report", schedule: crontab({ hour: 2, minute: 30 }) };
    const app = makeApp(
      { "new york": { ...daily, timezone: "America/New_York" }, berlin: daily },
      {
        timezone: "Europe/Berlin",
      },
    );
    // Waking at least every 6 h (not Celery's 5 min) and renewing the lease every 8 h keeps 24 simulated days quick.
    const hour = 3600 * 1000;
    const options = { maxIntervalMs: 6 * hour, leaseTtlMs: 24 * hour };
    const beat = track(createBeat(app, { store: new MemoryScheduleStore(), ...options }));
    const sends = recordSends(beat);
    await beat.start();
    await vi.advanceTimersByTimeAsync(24 * 24 * 3600 * 1000); // to 1 April
    const of = (entry: string) => dueTimes(sends.filter((send) => send.entry === entry));
    expect(of("new york").slice(0, 3)).toEqual([
      "2025-03-08T07:30:00.000Z", // 02:30 EST
      "2025-03-09T07:30:00.000Z", // spring forward: 02:30 does not exist, runs once at 03:30 EDT
      "2025-03-10T06:30:00.000Z", // 02:30 EDT
    ]);
    expect(of("new york")).toHaveLength(24);
    const berlin = of("berlin");
    expect(berlin).toHaveLength(24);
    expect(berlin.slice(21, 24)).toEqual([
      "2025-03-29T01:30:00.000Z", // 02:30 CET
      "2025-03-30T01:30:00.000Z", // spring forward: once, at 03:30 CEST
      "2025-03-31T00:30:00.000Z", // 02:30 CEST
    ]);
    // Each send happened at its due time.
    for (const send of sends) expect(send.dueAt.getTime()).toBeLessThanOrEqual(Date.now());
  }, 30_000);

  it("does not run twice when the clock falls back (Europe/Berlin, 26 October)", async () => {
    vi.setSystemTime(new Date("2025-10-25T12:00:00Z"));
    const app = makeApp(
      { nightly: { task: "tasks.report", schedule: "30 2 * * *" } },
      { timezone: "Europe/Berlin" },
    );
    const beat = track(createBeat(app, { store: new MemoryScheduleStore() }));
    const sends = recordSends(beat);
    await beat.start();
    await vi.advanceTimersByTimeAsync(2 * 24 * 3600 * 1000);
    expect(dueTimes(sends)).toEqual(["2025-10-26T00:30:00.000Z", "2025-10-27T01:30:00.000Z"]);
  });

  it("sends the quickstart's multiply at 10:50 Shanghai time, which has no daylight saving", async () => {
    vi.setSystemTime(new Date("2025-06-30T00:00:00Z"));
    const app = makeApp(
      { multiply: { task: "tasks.multiply", schedule: crontab({ hour: 10, minute: 50 }), args: [3, 7] } },
      { timezone: "Asia/Shanghai" },
    );
    const beat = track(createBeat(app, { store: new MemoryScheduleStore() }));
    const sends = recordSends(beat);
    await beat.start();
    await vi.advanceTimersByTimeAsync(2 * 24 * 3600 * 1000);
    expect(dueTimes(sends)).toEqual(["2025-06-30T02:50:00.000Z", "2025-07-01T02:50:00.000Z"]);
  });

  it("continues after a restart from the stored last run: nothing repeated, nothing skipped", async () => {
    const store = new MemoryScheduleStore();
    const app = makeApp({ tick: { task: "tasks.tick", schedule: every(30) } });
    const sends: BeatEvents["sent"][] = [];
    const first = track(createBeat(app, { store }));
    recordSends(first, sends);
    await first.start();
    await vi.advanceTimersByTimeAsync(65_000);
    await first.stop();
    await vi.advanceTimersByTimeAsync(10_000); // down from 65 s to 75 s: no run was due
    const second = track(createBeat(app, { store }));
    recordSends(second, sends);
    await second.start();
    await vi.advanceTimersByTimeAsync(50_000);
    expect(dueTimes(sends)).toEqual([plus(30), plus(60), plus(90), plus(120)]);
    const [info] = await second.listEntries();
    expect(info).toMatchObject({
      name: "tick",
      totalRunCount: 4,
      lastRunAt: new Date(plus(120)),
      nextRunAt: new Date(plus(150)),
    });
  });

  it("after downtime sends a missed run once by default, and not at all with missedRuns: skip", async () => {
    for (const missedRuns of ["once", "skip"] as const) {
      vi.setSystemTime(new Date(T0));
      const store = new MemoryScheduleStore();
      const app = makeApp({ tick: { task: "tasks.tick", schedule: every(30) } });
      const sends: BeatEvents["sent"][] = [];
      const first = track(createBeat(app, { store, missedRuns }));
      recordSends(first, sends);
      await first.start();
      await vi.advanceTimersByTimeAsync(35_000);
      await first.stop();
      await vi.advanceTimersByTimeAsync(165_000); // down until 200 s: the runs of 60 … 180 s were missed
      const second = track(createBeat(app, { store, missedRuns }));
      recordSends(second, sends);
      await second.start();
      await vi.advanceTimersByTimeAsync(40_000);
      if (missedRuns === "once") {
        // One catch-up run (for 60 s, sent at 200 s), then every 30 s from then.
        expect(dueTimes(sends)).toEqual([plus(30), plus(60), plus(230)]);
        expect(sends[1]?.dueAt.getTime()).toBe(Date.parse(plus(60)));
      } else {
        expect(dueTimes(sends)).toEqual([plus(30), plus(230)]);
      }
      await second.stop();
    }
  });

  it("hands over when the leader is cut off: none twice, none lost beyond the lease TTL", async () => {
    const shared = new MemoryScheduleStore();
    const app = makeApp({ tick: { task: "tasks.tick", schedule: every(5) } });
    const leaderStore = new CuttableStore(shared);
    const sends: (BeatEvents["sent"] & { by: string; at: number })[] = [];
    const leader = track(createBeat(app, { store: leaderStore, leaseTtlMs: 15_000 }));
    const standby = track(createBeat(app, { store: shared, leaseTtlMs: 15_000 }));
    leader.on("sent", (event) => sends.push({ ...event, by: "leader", at: Date.now() }));
    standby.on("sent", (event) => sends.push({ ...event, by: "standby", at: Date.now() }));
    await leader.start();
    await standby.start();
    expect([leader.isLeader, standby.isLeader]).toEqual([true, false]);
    await vi.advanceTimersByTimeAsync(17_000);
    leaderStore.cut(); // the leader can no longer renew or record: as good as dead
    await vi.advanceTimersByTimeAsync(60_000);
    expect(leader.isLeader).toBe(false);
    expect(standby.isLeader).toBe(true);
    const due = dueTimes(sends);
    expect(new Set(due).size).toBe(due.length); // no run sent twice
    expect(sends.filter((send) => send.by === "leader").map((send) => send.at)).toEqual(
      [5, 10, 15].map((s) => Date.parse(plus(s))),
    );
    const firstOfStandby = sends.find((send) => send.by === "standby");
    // The lease was last renewed at 15 s at the latest: the standby sends within the TTL after that.
    expect(firstOfStandby?.at).toBeLessThanOrEqual(Date.parse(plus(15 + 15 + 1)));
    expect(firstOfStandby?.dueAt.getTime()).toBe(Date.parse(plus(20))); // the first run the leader missed
    const standbyTimes = sends.filter((send) => send.by === "standby").map((send) => send.at);
    for (let i = 1; i < standbyTimes.length; i += 1) {
      expect((standbyTimes[i] as number) - (standbyTimes[i - 1] as number)).toBe(5000);
    }
  });

  it("never sends a run twice even when two beats both believe they lead", async () => {
    const shared = new MemoryScheduleStore();
    const app = makeApp({
      tick: { task: "tasks.tick", schedule: every(1) },
      slow: { task: "t", schedule: every(7) },
    });
    const sends: BeatEvents["sent"][] = [];
    for (let i = 0; i < 2; i += 1) {
      const beat = track(createBeat(app, { store: new SplitBrainStore(shared) }));
      recordSends(beat, sends);
      await beat.start();
      expect(beat.isLeader).toBe(true);
    }
    await vi.advanceTimersByTimeAsync(30_500);
    const keys = sends.map((send) => `${send.entry}@${send.dueAt.toISOString()}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(sends.filter((send) => send.entry === "tick")).toHaveLength(30);
    expect(sends.filter((send) => send.entry === "slow")).toHaveLength(4);
  });

  it("gives the lease up on stop, so that a waiting beat takes over at once", async () => {
    const store = new MemoryScheduleStore();
    const app = makeApp({ tick: { task: "tasks.tick", schedule: every(10) } });
    const first = track(createBeat(app, { store }));
    const second = track(createBeat(app, { store }));
    const sends = recordSends(second);
    await first.start();
    await second.start();
    expect(second.isLeader).toBe(false);
    await first.stop();
    // The waiting beat sleeps until the old lease would have expired; released, it is free at once
    // for the next attempt, which comes within the lease TTL.
    await vi.advanceTimersByTimeAsync(30_100);
    expect(second.isLeader).toBe(true);
    expect(sends.length).toBeGreaterThan(0);
  });
});

describe("entries", () => {
  it("adds and removes entries at run time through the store, also from another beat", async () => {
    const store = new MemoryScheduleStore();
    const app = makeApp({});
    const leader = track(createBeat(app, { store }));
    const other = track(createBeat(app, { store }));
    const sends = recordSends(leader);
    await leader.start();
    await other.start();
    await leader.addEntry("ping", { task: "tasks.ping", schedule: every(10), kwargs: { to: "a" } });
    await vi.advanceTimersByTimeAsync(25_000);
    expect(dueTimes(sends)).toEqual([plus(10), plus(20)]);
    // Added by the beat that waits: the leader sees it at its next lease renewal (every 10 s).
    await other.addEntry("pong", {
      task: "tasks.pong",
      schedule: "*/1 * * * *",
      options: { queue: "q", expires: 30 },
    });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sends.filter((send) => send.entry === "pong").length).toBeGreaterThanOrEqual(1);
    const listed = await other.listEntries();
    expect(listed.map((entry) => [entry.name, entry.source, entry.schedule])).toEqual(
      expect.arrayContaining([
        ["ping", "store", "every 10 seconds"],
        ["pong", "store", "<crontab: */1 * * * *>"],
      ]),
    );
    expect(await leader.removeEntry("ping")).toBe(true);
    expect(await leader.removeEntry("ping")).toBe(false);
    const before = sends.filter((send) => send.entry === "ping").length;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sends.filter((send) => send.entry === "ping")).toHaveLength(before);
  });

  it("reads beatSchedule and timezone from the environment as JSON, as TQ_BEAT_SCHEDULE and TQ_TIMEZONE", async () => {
    const { createApp } = await import("@tq/core");
    const app = createApp({
      broker: "memory://",
      resultBackend: null,
      env: {
        TQ_BEAT_SCHEDULE: JSON.stringify({
          report: { task: "tasks.report", schedule: "50 10 * * *", args: [1] },
          poll: { task: "tasks.poll", schedule: "15s" },
        }),
        TQ_TIMEZONE: "Asia/Shanghai",
      },
    });
    const beat = track(createBeat(app, { store: new MemoryScheduleStore() }));
    const listed = await beat.listEntries();
    expect(listed.map((entry) => [entry.name, entry.nextRunAt?.toISOString(), entry.timezone])).toEqual([
      ["poll", plus(15), "Asia/Shanghai"],
      ["report", "2025-01-01T02:50:00.000Z", "Asia/Shanghai"],
    ]);
  });

  it("refuses bad entries with TQ_CONFIG naming them", () => {
    const bad: [Record<string, unknown>, string][] = [
      [{ x: { schedule: 5 } }, 'beat entry "x": task must be a task name'],
      [{ x: { task: "t", schedule: "soon" } }, 'beat entry "x": <crontab: soon>'],
      [{ x: { task: "t", schedule: { kind: "weekly" } } }, 'beat entry "x": schedule must be a schedule'],
      [{ x: { task: "t", schedule: 5, options: { routing_key: "a" } } }, 'unknown option "routing_key"'],
      [{ x: { task: "t", schedule: 5, args: {} } }, "args must be an array"],
      [{ x: { task: "t", schedule: 5, timezone: "Nowhere/Land" } }, "IANA time zone"],
    ];
    for (const [schedule, message] of bad) {
      try {
        createBeat(makeApp(schedule as never), { store: new MemoryScheduleStore() });
        expect.unreachable(message);
      } catch (error) {
        expect(TqError.is(error, "TQ_CONFIG")).toBe(true);
        expect((error as Error).message).toContain(message);
      }
    }
    const app = makeApp({ x: { task: "t", schedule: 5 } });
    expect(() => createBeat(app, { entries: { x: { task: "t", schedule: 6 } } })).toThrow(/both/);
    expect(() => createBeat(app, { missedRuns: "all" as never })).toThrow(/missedRuns/);
    expect(() => createBeat(app, { leaseTtlMs: 1000, leaseRenewIntervalMs: 1000 })).toThrow(/below/);
    expect(() => makeApp({}, { timezone: "Mars/Olympus" })).toThrow(/IANA/);
  });

  it("refuses to add or remove a configured entry at run time", async () => {
    const beat = track(
      createBeat(makeApp({ x: { task: "t", schedule: 5 } }), { store: new MemoryScheduleStore() }),
    );
    await expect(beat.addEntry("x", { task: "t", schedule: 1 })).rejects.toThrow(/configured in the app/);
    await expect(beat.removeEntry("x")).rejects.toThrow(/beatSchedule/);
    await expect(
      beat.addEntry("y", { task: "t", schedule: 1, options: { expires: new Date() } }),
    ).rejects.toThrow(/expires in seconds/);
  });
});

describe("sending", () => {
  it("gives a run whose publish failed back and sends it once the broker is back", async () => {
    const app = makeApp({ tick: { task: "tasks.tick", schedule: every(10) } });
    const broker = await app.getBroker();
    const publish = broker.publish.bind(broker);
    let failures = 3;
    broker.publish = async (...args) => {
      if (failures-- > 0) throw new Error("broker down");
      return publish(...args);
    };
    const beat = track(createBeat(app, { store: new MemoryScheduleStore() }));
    const sends = recordSends(beat);
    const errors: unknown[] = [];
    beat.on("error", ({ error }) => errors.push(error));
    await beat.start();
    await vi.advanceTimersByTimeAsync(10_000 + 1000 + 2000 + 4000); // back-off 1 s, 2 s, 4 s
    expect(errors).toHaveLength(3);
    expect(dueTimes(sends)).toEqual([plus(10)]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(dueTimes(sends)).toEqual([plus(10), plus(20)]);
    const [info] = await beat.listEntries();
    expect(info?.totalRunCount).toBe(2);
  });

  it("drops a run whose arguments the task's schema refuses instead of retrying it forever", async () => {
    const app = makeApp({ bad: { task: "tasks.typed", schedule: every(10), args: ["not a number"] } });
    app.task("tasks.typed", (n: number) => n, {
      args: {
        "~standard": {
          version: 1,
          vendor: "test",
          validate: (value: unknown) =>
            Array.isArray(value) && typeof value[0] === "number"
              ? { value }
              : { issues: [{ message: "expected a number", path: [0] }] },
        },
      },
    } as never);
    const beat = track(createBeat(app, { store: new MemoryScheduleStore() }));
    const errors: unknown[] = [];
    beat.on("error", ({ error }) => errors.push(error));
    await beat.start();
    await vi.advanceTimersByTimeAsync(25_000);
    expect(errors).toHaveLength(2); // at 10 s and 20 s, no retries in between
    expect(TqError.is(errors[0], "TQ_INVALID_ARGUMENTS")).toBe(true);
  });
});
