import { describe, expect, it } from "vitest";
import { taskMetaProblem } from "../src/task-meta-check.js";

describe("taskMetaProblem", () => {
  it("accepts a document with a task_id and a status", () => {
    expect(taskMetaProblem({ task_id: "a", status: "SUCCESS", result: 1 })).toBeUndefined();
  });

  it("names what is missing, in the caller's words", () => {
    expect(taskMetaProblem(null)).toBe("a result document must be an object");
    expect(taskMetaProblem({ status: "SUCCESS" })).toBe("a result document needs a task_id string");
    expect(taskMetaProblem({ task_id: "", status: "SUCCESS" })).toBe(
      "a result document needs a task_id string",
    );
    expect(taskMetaProblem({ task_id: "a", status: "" }, "result")).toBe(
      "the result of task a needs a status string",
    );
  });
});
