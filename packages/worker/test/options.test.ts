import { createApp, defaultWorkerName } from "@tq/core";
import { describe, expect, it } from "vitest";
import { createWorker } from "../src/index.js";

describe("worker options", () => {
  it("takes its defaults from the app's configuration", () => {
    const app = createApp({ env: false, taskDefaultQueue: "jobs" });
    const worker = createWorker(app);
    expect(worker.queues).toEqual(["jobs"]);
    expect(worker.hostname).toBe(defaultWorkerName());
    expect(worker.active).toBe(0);
  });

  it.each([
    [{ concurrency: 0 }, /concurrency must be a positive integer/],
    [{ prefetchMultiplier: 1.5 }, /prefetchMultiplier must be a positive integer/],
    [{ queues: [] }, /queues must list at least one/],
    [{ shutdownTimeoutMs: -1 }, /shutdownTimeoutMs must be ≥ 0/],
    [{ deadLetterQueue: "" }, /deadLetterQueue must be a queue name or null/],
  ])("rejects %o with TQ_CONFIG", (options, message) => {
    const app = createApp({ env: false });
    expect(() => createWorker(app, options)).toThrow(
      expect.objectContaining({ code: "TQ_CONFIG", message: expect.stringMatching(message) }),
    );
  });
});
