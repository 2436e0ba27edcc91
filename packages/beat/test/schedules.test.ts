import { TqError } from "@tq/core";
import { describe, expect, it } from "vitest";
import { expandField, FIELDS } from "../src/crontab-fields.js";
import { crontab, durationMs, every, scheduleFromJSON, solar } from "../src/index.js";

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The next `count` run times after `from`, as ISO strings. */
function runs(
  schedule: { nextRunAfter(after: number, tz: string): number | null },
  tz: string,
  from: string,
  count: number,
) {
  const out: (string | null)[] = [];
  let after = at(from);
  for (let i = 0; i < count; i += 1) {
    const next = schedule.nextRunAfter(after, tz);
    out.push(iso(next));
    if (next === null) break;
    after = next;
  }
  return out;
}

function configError(run: () => unknown): TqError {
  try {
    run();
  } catch (error) {
    expect(TqError.is(error, "TQ_CONFIG")).toBe(true);
    return error as TqError;
  }
  throw new Error("expected TQ_CONFIG");
}

describe("every()", () => {
  it("takes seconds (Celery's unit), duration strings and timedelta-like parts", () => {
    expect(every(30).intervalMs).toBe(30_000);
    expect(every("30s").intervalMs).toBe(30_000);
    expect(every("1h30m").intervalMs).toBe(5_400_000);
    expect(every("1h 30m").intervalMs).toBe(5_400_000);
    expect(every("500ms").intervalMs).toBe(500);
    expect(every("2d").intervalMs).toBe(172_800_000);
    expect(every("1.5").intervalMs).toBe(1500);
    expect(every({ minutes: 5 }).intervalMs).toBe(300_000);
    expect(every({ hours: 1, seconds: 30 }).intervalMs).toBe(3_630_000);
    expect(durationMs({ days: 1 })).toBe(86_400_000);
  });

  it("refuses what is not a positive duration", () => {
    for (const bad of [0, -5, Number.NaN, "", "abc", "5 minutes", "30x", "1h30", { minutes: -1 }, {}]) {
      configError(() => every(bad as never));
    }
    expect(configError(() => every({ weeks: 1 } as never)).message).toContain(
      'unknown duration part "weeks"',
    );
  });

  it("runs one interval after the last run, and describes itself as Celery would", () => {
    const schedule = every({ minutes: 5 });
    expect(schedule.nextRunAfter(1000)).toBe(301_000);
    expect(String(schedule)).toBe("every 5 minutes");
    expect(String(every(1))).toBe("every 1 second");
    expect(String(every(90))).toBe("every 1.5 minutes");
    expect(schedule.toJSON()).toEqual({ kind: "every", seconds: 300 });
  });
});

describe("crontab fields, as Celery's crontab_parser reads them", () => {
  it("expands stars, steps, ranges, lists, names and wrapping ranges", () => {
    expect(expandField("*/15", FIELDS.minute)).toEqual([0, 15, 30, 45]);
    expect(expandField("0-5,10", FIELDS.hour)).toEqual([0, 1, 2, 3, 4, 5, 10]);
    expect(expandField("1-10/3", FIELDS.dayOfMonth)).toEqual([1, 4, 7, 10]);
    expect(expandField("*/3", FIELDS.dayOfMonth)).toEqual([1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31]);
    expect(expandField("2-12/2", FIELDS.monthOfYear)).toEqual([2, 4, 6, 8, 10, 12]);
    expect(expandField("mon-fri", FIELDS.dayOfWeek)).toEqual([1, 2, 3, 4, 5]);
    expect(expandField("fri-mon", FIELDS.dayOfWeek)).toEqual([0, 1, 5, 6]);
    expect(expandField("sunday,7", FIELDS.dayOfWeek)).toEqual([0]);
    expect(expandField("*", FIELDS.dayOfWeek)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(expandField("22-2", FIELDS.hour)).toEqual([0, 1, 2, 22, 23]);
    expect(expandField("jan,jul", FIELDS.monthOfYear)).toEqual([1, 7]);
    expect(expandField(7, FIELDS.hour)).toEqual([7]);
    expect(expandField([0, 30], FIELDS.minute)).toEqual([0, 30]);
    expect(expandField("5/20", FIELDS.minute)).toEqual([5, 25, 45]);
  });

  it("refuses values out of range and malformed parts, naming the field", () => {
    expect(configError(() => crontab({ minute: 60 })).message).toContain(
      "crontab minute 60: 60 is outside 0-59",
    );
    configError(() => crontab({ hour: "24" }));
    configError(() => crontab({ dayOfMonth: 0 }));
    configError(() => crontab({ dayOfWeek: "funday" }));
    configError(() => crontab({ minute: "*/0" }));
    configError(() => crontab({ minute: "1,,2" }));
    configError(() => crontab({ minute: [] }));
    configError(() => crontab({ monthOfYear: 13 }));
  });
});

describe("crontab() next run times", () => {
  it("runs at 10:50 every day in Asia/Shanghai (UTC+8, no daylight saving) all year", () => {
    const schedule = crontab({ hour: 10, minute: 50 });
    expect(runs(schedule, "Asia/Shanghai", "2025-01-01T00:00:00Z", 2)).toEqual([
      "2025-01-01T02:50:00.000Z",
      "2025-01-02T02:50:00.000Z",
    ]);
    expect(runs(schedule, "Asia/Shanghai", "2025-07-01T03:00:00Z", 1)).toEqual(["2025-07-02T02:50:00.000Z"]);
    expect(runs(schedule, "UTC", "2025-01-01T00:00:00Z", 1)).toEqual(["2025-01-01T10:50:00.000Z"]);
    expect(String(schedule)).toBe("<crontab: 50 10 * * * (m/h/d/dM/MY)>");
  });

  it("America/New_York: 02:30 daily runs once on the spring-forward day, 01:30 once on the fall-back day", () => {
    const daily0230 = crontab({ hour: 2, minute: 30 });
    // 2025-03-09 02:00 EST jumps to 03:00 EDT: 02:30 does not exist and runs at 03:30 EDT, once.
    expect(runs(daily0230, "America/New_York", "2025-03-08T00:00:00Z", 3)).toEqual([
      "2025-03-08T07:30:00.000Z", // 02:30 EST
      "2025-03-09T07:30:00.000Z", // 03:30 EDT (the skipped 02:30)
      "2025-03-10T06:30:00.000Z", // 02:30 EDT
    ]);
    // 2025-11-02 02:00 EDT falls back to 01:00 EST: 01:30 happens twice and runs the first time only.
    expect(runs(crontab({ hour: 1, minute: 30 }), "America/New_York", "2025-11-01T00:00:00Z", 3)).toEqual([
      "2025-11-01T05:30:00.000Z", // 01:30 EDT
      "2025-11-02T05:30:00.000Z", // 01:30 EDT; not again at 06:30Z (01:30 EST)
      "2025-11-03T06:30:00.000Z", // 01:30 EST
    ]);
  });

  it("Europe/Berlin: 02:30 daily runs once on both transition days; hourly runs every real hour", () => {
    const daily0230 = crontab({ hour: 2, minute: 30 });
    expect(runs(daily0230, "Europe/Berlin", "2025-03-29T00:00:00Z", 3)).toEqual([
      "2025-03-29T01:30:00.000Z", // 02:30 CET
      "2025-03-30T01:30:00.000Z", // 03:30 CEST: 02:30 is skipped on 30 March
      "2025-03-31T00:30:00.000Z", // 02:30 CEST
    ]);
    expect(runs(daily0230, "Europe/Berlin", "2025-10-25T00:00:00Z", 3)).toEqual([
      "2025-10-25T00:30:00.000Z", // 02:30 CEST
      "2025-10-26T00:30:00.000Z", // first 02:30 (CEST) only, not 01:30Z (CET)
      "2025-10-27T01:30:00.000Z", // 02:30 CET
    ]);
    // An hourly job runs each hour that really passes, both 02:00s included: no run is lost or doubled.
    expect(runs(crontab({ minute: 0 }), "Europe/Berlin", "2025-10-25T23:30:00Z", 4)).toEqual([
      "2025-10-26T00:00:00.000Z",
      "2025-10-26T01:00:00.000Z",
      "2025-10-26T02:00:00.000Z",
      "2025-10-26T03:00:00.000Z",
    ]);
  });

  it("a crontab's own time zone wins over the entry's or app's", () => {
    const schedule = crontab({ hour: 10, minute: 50, timezone: "Asia/Shanghai" });
    expect(runs(schedule, "Europe/Berlin", "2025-01-01T00:00:00Z", 1)).toEqual(["2025-01-01T02:50:00.000Z"]);
    expect(schedule.toJSON()).toEqual({
      kind: "crontab",
      minute: "50",
      hour: "10",
      dayOfMonth: "*",
      monthOfYear: "*",
      dayOfWeek: "*",
      timezone: "Asia/Shanghai",
    });
  });

  it("needs both day fields to match when both are restricted, as Celery (Friday the 13th)", () => {
    const fridayThe13th = crontab({ minute: 0, hour: 0, dayOfMonth: 13, dayOfWeek: "fri" });
    expect(runs(fridayThe13th, "UTC", "2025-01-01T00:00:00Z", 3)).toEqual([
      "2025-06-13T00:00:00.000Z",
      "2026-02-13T00:00:00.000Z",
      "2026-03-13T00:00:00.000Z",
    ]);
    // A cron line keeps cron's rule: either field.
    expect(runs(crontab("0 0 13 * 5"), "UTC", "2025-01-01T00:00:00Z", 2)).toEqual([
      "2025-01-03T00:00:00.000Z",
      "2025-01-10T00:00:00.000Z",
    ]);
  });

  it("takes cron lines with cron-parser's syntax and refuses bad ones", () => {
    expect(runs(crontab("*/15 * * * *"), "UTC", "2025-01-01T00:07:00Z", 2)).toEqual([
      "2025-01-01T00:15:00.000Z",
      "2025-01-01T00:30:00.000Z",
    ]);
    expect(runs(crontab("@daily", { timezone: "Asia/Shanghai" }), "UTC", "2025-01-01T00:00:00Z", 1)).toEqual([
      "2025-01-01T16:00:00.000Z",
    ]);
    expect(runs(crontab("0 0 L * *"), "UTC", "2025-02-01T00:00:00Z", 1)).toEqual([
      "2025-02-28T00:00:00.000Z",
    ]);
    configError(() => crontab("61 * * * *"));
    configError(() => crontab("not a line"));
    configError(() => crontab(""));
    configError(() => crontab({ dayOfMonth: 30, monthOfYear: 2 }));
    configError(() => crontab({ timezone: "Mars/Olympus" }));
  });
});

describe("solar()", () => {
  it("runs at each sunset in Melbourne, as SunCalc computes it", () => {
    const sunset = solar("sunset", -37.81753, 144.96715);
    const [first, second] = runs(sunset, "UTC", "2025-01-01T00:00:00Z", 2);
    // Melbourne sunsets early in January are about 20:45 AEDT (09:45 UTC).
    expect(first).toMatch(/^2025-01-01T09:4\d:\d\d\.000Z$/);
    expect(second).toMatch(/^2025-01-02T09:4\d:\d\d\.000Z$/);
    expect(String(sunset)).toBe("<solar: sunset at latitude -37.81753, longitude 144.96715>");
  });

  it("skips days without the event near the poles and refuses bad arguments", () => {
    // Tromsø has no sunrise from late November to mid-January.
    const [next] = runs(solar("sunrise", 69.6492, 18.9553), "UTC", "2025-12-01T00:00:00Z", 1);
    expect(next).toMatch(/^2026-01-1\d/);
    configError(() => solar("moonrise" as never, 0, 0));
    configError(() => solar("sunset", 91, 0));
    configError(() => solar("sunset", 0, -181));
  });
});

describe("scheduleFromJSON()", () => {
  it("reads what beatSchedule entries and stores hold", () => {
    expect(scheduleFromJSON(30)).toMatchObject({ kind: "every", intervalMs: 30_000 });
    expect(scheduleFromJSON("30s")).toMatchObject({ kind: "every", intervalMs: 30_000 });
    expect(scheduleFromJSON("45")).toMatchObject({ kind: "every", intervalMs: 45_000 });
    expect(scheduleFromJSON("50 10 * * *")).toMatchObject({ kind: "crontab", expression: "50 10 * * *" });
    for (const schedule of [
      every("90s"),
      crontab({ minute: "*/5", dayOfWeek: "mon-fri", timezone: "Europe/Berlin" }),
      crontab("0 9 * * 1", { timezone: "America/New_York" }),
      solar("dawn_civil", 48.85, 2.35),
    ]) {
      const copy = scheduleFromJSON(JSON.parse(JSON.stringify(schedule.toJSON())));
      expect(copy.toJSON()).toEqual(schedule.toJSON());
      expect(copy.nextRunAfter(at("2025-05-05T05:05:05Z"), "UTC")).toBe(
        schedule.nextRunAfter(at("2025-05-05T05:05:05Z"), "UTC"),
      );
    }
    const mine = { kind: "mine", nextRunAfter: (after: number) => after + 1, toJSON: () => 1 };
    expect(scheduleFromJSON(mine)).toBe(mine);
    configError(() => scheduleFromJSON({ kind: "weekly" }));
    configError(() => scheduleFromJSON(null as never));
  });
});
