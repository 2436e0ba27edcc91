import { describe, expect, it } from "vitest";
import { parseRateLimit, TqError } from "../src/index.js";

function configError(run: () => unknown): TqError {
  try {
    run();
  } catch (error) {
    if (TqError.is(error, "TQ_CONFIG")) return error;
    throw error;
  }
  throw new Error("expected a TQ_CONFIG error");
}

describe("parseRateLimit (Celery's rate())", () => {
  it.each([
    ["10/s", 10],
    ["100/m", 100 / 60],
    ["1000/h", 1000 / 3600],
    ["0.5/s", 0.5],
    [".5/s", 0.5],
    ["2/h", 2 / 3600],
    ["10", 10],
    ["10/", 10],
    [" 10 /m", 10 / 60],
    ["1e2/m", 100 / 60],
    ["+3/s", 3],
    [25, 25],
    [0.25, 0.25],
  ] as const)("%j is %d per second", (value, perSecond) => {
    expect(parseRateLimit(value, "test")).toBeCloseTo(perSecond, 12);
  });

  it.each([null, undefined, "", "0", "0/m", "0.0/h", 0])("%j is no limit", (value) => {
    expect(parseRateLimit(value, "test")).toBe(0);
  });

  it.each(["10/x", "10/ s", "10/S", "10/min", "10/s/m", "ten/s", "/s", "0x10/s", "-1/s", "inf/s", "1_000/s"])(
    "%j is refused with TQ_CONFIG naming the value",
    (value) => {
      const error = configError(() => parseRateLimit(value, 'task "tasks.add"'));
      expect(error.message).toContain(JSON.stringify(value));
      expect(error.message).toContain('task "tasks.add"');
    },
  );

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])("the number %d is refused", (value) => {
    configError(() => parseRateLimit(value, "test"));
  });

  it("refuses a value that is neither a string nor a number", () => {
    configError(() => parseRateLimit(true as unknown as string, "test"));
  });
});
