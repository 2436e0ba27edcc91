import { describe, expect, it } from "vitest";
import { configFromEnv, DEFAULT_CONFIG, envNameOf, resolveConfig } from "../src/config.js";
import { TqError } from "../src/errors.js";

describe("configuration", () => {
  it("names environment variables after Celery's settings", () => {
    expect(envNameOf("brokerUrl")).toBe("TQ_BROKER_URL");
    expect(envNameOf("resultBackend")).toBe("TQ_RESULT_BACKEND");
    expect(envNameOf("taskDefaultQueue")).toBe("TQ_TASK_DEFAULT_QUEUE");
    expect(envNameOf("workerPrefetchMultiplier")).toBe("TQ_WORKER_PREFETCH_MULTIPLIER");
  });

  it("reads typed values from the environment", () => {
    const env = configFromEnv({
      TQ_BROKER_URL: "redis://localhost:6379/1",
      TQ_RESULT_BACKEND: "none",
      TQ_TASK_ACKS_LATE: "true",
      TQ_WORKER_CONCURRENCY: "3",
      TQ_RESULT_EXPIRES: "60",
      TQ_ACCEPT_CONTENT: "application/json, application/x-msgpack",
      TQ_TASK_ROUTES: '{"images.*": {"queue": "images"}}',
      UNRELATED: "x",
    });
    expect(env).toEqual({
      brokerUrl: "redis://localhost:6379/1",
      resultBackend: null,
      taskAcksLate: true,
      workerConcurrency: 3,
      resultExpires: 60,
      acceptContent: ["application/json", "application/x-msgpack"],
      taskRoutes: { "images.*": { queue: "images" } },
    });
  });

  it("rejects malformed environment values naming the variable", () => {
    expect(() => configFromEnv({ TQ_WORKER_CONCURRENCY: "many" })).toThrow(
      /TQ_WORKER_CONCURRENCY must be a number/,
    );
    expect(() => configFromEnv({ TQ_TASK_ACKS_LATE: "maybe" })).toThrow(
      /TQ_TASK_ACKS_LATE must be true or false/,
    );
    try {
      configFromEnv({ TQ_TASK_ROUTES: "{" });
      expect.unreachable();
    } catch (error) {
      expect(TqError.is(error, "TQ_CONFIG")).toBe(true);
    }
  });

  it("lets explicit settings win over the environment, which wins over defaults", () => {
    const conf = resolveConfig(
      { taskDefaultQueue: "explicit" },
      { taskDefaultQueue: "env", taskAcksLate: true },
    );
    expect(conf.taskDefaultQueue).toBe("explicit");
    expect(conf.taskAcksLate).toBe(true);
    expect(conf.resultExpires).toBe(DEFAULT_CONFIG.resultExpires);
    expect(conf.brokerUrl).toBe("memory://");
  });

  it("validates numbers", () => {
    expect(() => resolveConfig({ workerConcurrency: 0 })).toThrow(/workerConcurrency/);
    expect(() => resolveConfig({ workerPrefetchMultiplier: 1.5 })).toThrow(/workerPrefetchMultiplier/);
    expect(() => resolveConfig({ resultExpires: -1 })).toThrow(/resultExpires/);
  });
});
