import { describe, expect, it } from "vitest";
import { TqError, toError } from "../src/errors.js";
import { Ignore, Reject, Retry } from "../src/task-errors.js";

describe("TqError", () => {
  it("has a code, a component prefix and a cause", () => {
    const cause = new Error("ECONNREFUSED");
    const error = new TqError("TQ_CONNECTION", "cannot reach 127.0.0.1:6379", { component: "redis", cause });
    expect(error.message).toBe("[tq] [redis] cannot reach 127.0.0.1:6379");
    expect(error.code).toBe("TQ_CONNECTION");
    expect(error.cause).toBe(cause);
    expect(error).toBeInstanceOf(Error);
  });

  it("is recognised by brand, across copies of core", () => {
    const foreign = Object.assign(new Error("x"), { code: "TQ_TIMEOUT", [Symbol.for("tq.error.v1")]: true });
    expect(TqError.is(foreign)).toBe(true);
    expect(TqError.is(foreign, "TQ_TIMEOUT")).toBe(true);
    expect(TqError.is(foreign, "TQ_CONFIG")).toBe(false);
    expect(TqError.is(new Error("x"))).toBe(false);
    expect(TqError.is(null)).toBe(false);
  });

  it("task control errors are TqErrors with their own codes", () => {
    expect(new Retry({ countdown: 5 }).options.countdown).toBe(5);
    expect(TqError.is(new Retry(), "TQ_RETRY")).toBe(true);
    expect(new Reject("no", { requeue: true }).requeue).toBe(true);
    expect(TqError.is(new Ignore(), "TQ_IGNORE")).toBe(true);
  });

  it("toError keeps errors and wraps other values", () => {
    const error = new Error("x");
    expect(toError(error)).toBe(error);
    expect(toError("boom").message).toBe("boom");
    expect(toError({ a: 1 }).message).toBe('{"a":1}');
  });
});
