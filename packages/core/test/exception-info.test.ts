import { describe, expect, it } from "vitest";
import { TqError } from "../src/errors.js";
import {
  errorToExceptionInfo,
  exceptionInfoToError,
  TaskFailedError,
  TaskRevokedError,
} from "../src/exception-info.js";

class ValidationError extends Error {}

describe("errorToExceptionInfo", () => {
  it("stores a TypeError as Python's builtins.TypeError", () => {
    const { info, traceback } = errorToExceptionInfo(new TypeError("x is not a function"));
    expect(info).toEqual({
      exc_type: "TypeError",
      exc_message: ["x is not a function"],
      exc_module: "builtins",
    });
    expect(traceback).toMatch(/^TypeError: x is not a function\n\s+at /);
  });

  it("uses the error's name, then the class name when the name is the inherited Error", () => {
    const named = Object.assign(new Error("bad input"), { name: "ValueError" });
    expect(errorToExceptionInfo(named).info.exc_type).toBe("ValueError");
    expect(errorToExceptionInfo(new ValidationError("no")).info.exc_type).toBe("ValidationError");
    expect(errorToExceptionInfo(new Error("plain")).info.exc_type).toBe("Error");
  });

  it("uses the error's own excModule when it has one", () => {
    const error = Object.assign(new Error("nope"), {
      name: "PermissionDenied",
      excModule: "django.core.exceptions",
    });
    expect(errorToExceptionInfo(error).info.exc_module).toBe("django.core.exceptions");
    const nulled = Object.assign(new Error("x"), { excModule: null });
    expect(errorToExceptionInfo(nulled).info.exc_module).toBeNull();
  });

  it("does not point Python at a builtin that is not an exception class", () => {
    for (const name of ["None", "True", "open", "my-error", "a.b", ""]) {
      const error = Object.assign(new Error("x"), { name });
      const { exc_module } = errorToExceptionInfo(error).info;
      expect(exc_module, name).toBe(name === "" ? "builtins" : null);
    }
  });

  it("stores thrown non-errors as Exception", () => {
    expect(errorToExceptionInfo("boom")).toEqual({
      info: { exc_type: "Exception", exc_message: ["boom"], exc_module: "builtins" },
      traceback: "Exception: boom",
    });
    expect(errorToExceptionInfo({ code: 7 }).info.exc_message).toEqual(['{"code":7}']);
    expect(errorToExceptionInfo(undefined).info.exc_type).toBe("Exception");
  });

  it("falls back to name: message when there is no stack", () => {
    const error = new RangeError("too big");
    error.stack = undefined;
    expect(errorToExceptionInfo(error).traceback).toBe("RangeError: too big");
  });

  it("appends the cause chain to the traceback", () => {
    const root = new Error("socket closed");
    const error = new Error("query failed", { cause: root });
    const { traceback } = errorToExceptionInfo(error);
    expect(traceback).toContain("Error: query failed");
    expect(traceback).toContain("Caused by: Error: socket closed");
    const { traceback: withString } = errorToExceptionInfo(new Error("outer", { cause: "inner reason" }));
    expect(withString).toContain("Caused by: inner reason");
  });

  it("passes a remote failure on unchanged, as Celery re-raises it", () => {
    const failed = new TaskFailedError("t1", {
      excType: "ValueError",
      excMessage: ["bad input"],
      excModule: "builtins",
      remoteTraceback: "Traceback (most recent call last):\nValueError: bad input\n",
    });
    const { info, traceback } = errorToExceptionInfo(failed);
    expect(info).toEqual({ exc_type: "ValueError", exc_message: ["bad input"], exc_module: "builtins" });
    expect(traceback).toContain("Remote traceback (task t1):\nTraceback (most recent call last):");
  });
});

describe("TaskFailedError", () => {
  it("is a TqError with code TQ_TASK_FAILED and the remote details", () => {
    const error = new TaskFailedError("abc", {
      excType: "ValueError",
      excMessage: ["bad input"],
      excModule: "builtins",
      remoteTraceback: "tb",
    });
    expect(error).toBeInstanceOf(TqError);
    expect(TqError.is(error, "TQ_TASK_FAILED")).toBe(true);
    expect(error.name).toBe("TaskFailedError");
    expect(error.message).toBe("[tq] task abc failed: ValueError: bad input");
    expect(error).toMatchObject({
      taskId: "abc",
      excType: "ValueError",
      excModule: "builtins",
      remoteTraceback: "tb",
    });
  });

  it("prints the args as Python's str(exc) would", () => {
    const make = (excMessage: unknown[]) =>
      new TaskFailedError("t", { excType: "E", excMessage, excModule: null, remoteTraceback: null }).message;
    expect(make([])).toBe("[tq] task t failed: E");
    expect(make(["a", 1])).toBe("[tq] task t failed: E: ('a', 1)");
    expect(make([42])).toBe("[tq] task t failed: E: 42");
  });
});

describe("exceptionInfoToError", () => {
  it("rebuilds the captured Celery FAILURE result", () => {
    const error = exceptionInfoToError(
      { exc_type: "ValueError", exc_message: ["bad input"], exc_module: "builtins" },
      'Traceback (most recent call last):\n  File "probe.py", line 9\nValueError: bad input\n',
      "aaaaaaaa-0000-0000-0000-000000000001",
    );
    expect(error).toBeInstanceOf(TaskFailedError);
    expect(error.code).toBe("TQ_TASK_FAILED");
    expect(error.message).toBe(
      "[tq] task aaaaaaaa-0000-0000-0000-000000000001 failed: ValueError: bad input",
    );
    expect(error.excMessage).toEqual(["bad input"]);
    expect(error.remoteTraceback).toContain('File "probe.py"');
  });

  it("round-trips what errorToExceptionInfo stores", () => {
    const { info, traceback } = errorToExceptionInfo(new TypeError("oops"));
    const error = exceptionInfoToError(info, traceback, "t");
    expect(error).toMatchObject({ excType: "TypeError", excMessage: ["oops"], excModule: "builtins" });
    expect(error.remoteTraceback).toBe(traceback);
  });

  it.each([
    ["a string", "it broke", { excType: "Exception", excMessage: ["it broke"], excModule: null }],
    ["null", null, { excType: "Exception", excMessage: [], excModule: null }],
    ["a number", 5, { excType: "Exception", excMessage: [5], excModule: null }],
    ["an array", ["x"], { excType: "Exception", excMessage: [["x"]], excModule: null }],
    ["an empty object", {}, { excType: "Exception", excMessage: [], excModule: null }],
    [
      "exc_message as a string",
      { exc_type: "KeyError", exc_message: "k" },
      { excType: "KeyError", excMessage: ["k"] },
    ],
    ["a non-string exc_type", { exc_type: 3, exc_message: [] }, { excType: "Exception" }],
    ["a non-string exc_module", { exc_type: "E", exc_module: 1 }, { excModule: null }],
  ])("tolerates %s", (_label, info, expected) => {
    const error = exceptionInfoToError(info, null, "t");
    expect(error).toBeInstanceOf(TaskFailedError);
    expect(error).toMatchObject({ ...expected, remoteTraceback: null });
  });

  it("gives a TaskRevokedError for REVOKED, as Celery stores it", () => {
    const error = exceptionInfoToError(
      { exc_type: "TaskRevokedError", exc_message: ["revoked"], exc_module: "celery.exceptions" },
      null,
      "r1",
      "REVOKED",
    );
    expect(error).toBeInstanceOf(TaskRevokedError);
    expect(error.code).toBe("TQ_TASK_REVOKED");
    expect(error.message).toBe("[tq] task r1 was revoked");
    expect(error).toMatchObject({
      taskId: "r1",
      excType: "TaskRevokedError",
      excModule: "celery.exceptions",
    });
    const expired = exceptionInfoToError(
      { exc_type: "TaskRevokedError", exc_message: ["expired"] },
      null,
      "r2",
      "REVOKED",
    );
    expect(expired.message).toBe("[tq] task r2 was revoked: expired");
  });

  it("gives a TaskFailedError for any other status", () => {
    expect(exceptionInfoToError({ exc_type: "E" }, null, "t", "FAILURE")).toBeInstanceOf(TaskFailedError);
  });
});

describe("TaskRevokedError", () => {
  it("has Celery's defaults", () => {
    const error = new TaskRevokedError("r");
    expect(TqError.is(error, "TQ_TASK_REVOKED")).toBe(true);
    expect(error).toMatchObject({
      name: "TaskRevokedError",
      excType: "TaskRevokedError",
      excMessage: ["revoked"],
      excModule: "celery.exceptions",
      remoteTraceback: null,
    });
    expect(errorToExceptionInfo(error).info).toEqual({
      exc_type: "TaskRevokedError",
      exc_message: ["revoked"],
      exc_module: "celery.exceptions",
    });
  });
});
