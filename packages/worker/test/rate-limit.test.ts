import { createApp, TqError } from "@tq/core";
import { describe, expect, it } from "vitest";
import { createWorker } from "../src/index.js";
import { rateLimitChange, taskRateLimit, taskRateLookup } from "../src/rate-limit.js";
import { recordingLogger } from "./helpers.js";

function configError(run: () => unknown): TqError {
  try {
    run();
  } catch (error) {
    if (TqError.is(error, "TQ_CONFIG")) return error;
    throw error;
  }
  throw new Error("expected a TQ_CONFIG error");
}

describe("task rate limits", () => {
  it("a task's own rateLimit wins over the app's taskDefaultRateLimit, and null means none", () => {
    const app = createApp({ env: false, taskDefaultRateLimit: "60/m" });
    const own = app.task("tasks.own", () => {}, { rateLimit: "5/s" });
    const none = app.task("tasks.none", () => {}, { rateLimit: null });
    const inherited = app.task("tasks.inherited", () => {});
    expect(taskRateLimit(own, app)).toBe(5);
    expect(taskRateLimit(none, app)).toBe(0);
    expect(taskRateLimit(inherited, app)).toBe(1);
  });

  it("a bad rate fails createWorker and start() with TQ_CONFIG naming the task and the value", async () => {
    const app = createApp({ env: false });
    app.task("tasks.bad", () => {}, { rateLimit: "10/fortnight" });
    const error = configError(() => createWorker(app));
    expect(error.message).toContain('"tasks.bad"');
    expect(error.message).toContain('"10/fortnight"');

    const later = createApp({ env: false });
    const worker = createWorker(later);
    later.task("tasks.late", () => {}, { rateLimit: "fast" });
    await expect(worker.start()).rejects.toSatisfy(
      (error: unknown) => TqError.is(error, "TQ_CONFIG") && error.message.includes('"fast"'),
    );
    await later.close();
  });

  it("a bad taskDefaultRateLimit names the setting and the task", () => {
    const app = createApp({ env: false, taskDefaultRateLimit: "lots" });
    app.task("tasks.plain", () => {});
    const error = configError(() => createWorker(app));
    expect(error.message).toContain("taskDefaultRateLimit");
    expect(error.message).toContain('"tasks.plain"');
  });

  it("the limiter's lookup logs a bad rate of a task registered after start and runs it unlimited", () => {
    const app = createApp({ env: false });
    app.task("tasks.late", () => {}, { rateLimit: "soon" });
    const logger = recordingLogger();
    expect(taskRateLookup(app, logger)("tasks.late")).toBe(0);
    expect(logger.records.map((record) => record.level)).toEqual(["error"]);
    expect(taskRateLookup(app, logger)("tasks.unknown")).toBe(0);
  });

  it("a run-time change names an unknown task with TQ_CONFIG and parses the rate", () => {
    const app = createApp({ env: false });
    app.task("tasks.known", () => {});
    expect(configError(() => rateLimitChange(app, "tasks.nope", "1/s")).message).toContain("unknown task");
    expect(rateLimitChange(app, "tasks.known", "120/m")).toBe(2);
    expect(rateLimitChange(app, "tasks.known", null)).toBe(0);
    configError(() => rateLimitChange(app, "tasks.known", "1/d"));
  });
});
