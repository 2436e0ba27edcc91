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
    // 10 × 4 prefetch, 10 slots kept for due tasks: 30 held at most (etaHoldLimit 1000 is higher).
    expect(worker.stats()).toMatchObject({ held: 0, etaHoldCapacity: 30, deferred: 0 });
  });

  it.each([
    [{ concurrency: 0 }, /concurrency must be a positive integer/],
    [{ prefetchMultiplier: 1.5 }, /prefetchMultiplier must be a positive integer/],
    [{ queues: [] }, /queues must list at least one/],
    [{ shutdownTimeoutMs: -1 }, /shutdownTimeoutMs must be ≥ 0/],
    [{ deadLetterQueue: "" }, /deadLetterQueue must be a queue name or null/],
    [{ etaHoldLimit: -1 }, /etaHoldLimit must be an integer ≥ 0/],
    [{ etaHoldLimit: 2.5 }, /etaHoldLimit must be an integer ≥ 0/],
    [{ etaHoldHorizonMs: Number.POSITIVE_INFINITY }, /etaHoldHorizonMs must be a finite number ≥ 0/],
    [{ etaHoldHorizonMs: -5 }, /etaHoldHorizonMs must be a finite number ≥ 0/],
  ])("rejects %o with TQ_CONFIG", (options, message) => {
    const app = createApp({ env: false });
    expect(() => createWorker(app, options)).toThrow(
      expect.objectContaining({ code: "TQ_CONFIG", message: expect.stringMatching(message) }),
    );
  });
});
