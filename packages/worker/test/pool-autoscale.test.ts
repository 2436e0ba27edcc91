import { afterEach, describe, expect, it, vi } from "vitest";
import { Autoscaler, type Scalable } from "../src/pool/autoscaler.js";
import { cleanUp, makeHarness, recordingLogger } from "./helpers.js";
import { cleanUpPools, poolHarness, until } from "./pool-helpers.js";

afterEach(cleanUp);
afterEach(cleanUpPools);
// Children start slowly on a loaded machine; nothing here is timed, only waited for.
vi.setConfig({ testTimeout: 60_000 });

function fakeScheduler(concurrency: number): Scalable & { held(running: number, waiting: number): void } {
  const state = { concurrency, running: new Set<number>(), waiting: 0 };
  return {
    get concurrency() {
      return state.concurrency;
    },
    get running() {
      return state.running;
    },
    get waiting() {
      return state.waiting;
    },
    resize(size) {
      state.concurrency = size;
    },
    held(running, waiting) {
      state.running = new Set(Array.from({ length: running }, (_, i) => i));
      state.waiting = waiting;
    },
  };
}

describe("Autoscaler", () => {
  it("grows at once to the tasks held (at most max) and the pool follows", () => {
    const scheduler = fakeScheduler(1);
    const poolSizes: number[] = [];
    const scaler = new Autoscaler(
      { max: 4, min: 1, keepaliveMs: 30_000 },
      scheduler,
      (size) => poolSizes.push(size),
      recordingLogger(),
    );
    scheduler.held(1, 2);
    scaler.tick(0);
    expect(scheduler.concurrency).toBe(3);
    scheduler.held(3, 10);
    scaler.tick(10);
    expect(scheduler.concurrency).toBe(4);
    expect(poolSizes).toEqual([3, 4]);
  });

  it("shrinks to what is held (not below min) only once the keepalive passed since it last grew", () => {
    const scheduler = fakeScheduler(1);
    const scaler = new Autoscaler(
      { max: 4, min: 2, keepaliveMs: 1_000 },
      scheduler,
      () => {},
      recordingLogger(),
    );
    scheduler.held(0, 0);
    scaler.tick(0);
    expect(scheduler.concurrency).toBe(1); // never grew: nothing to shrink back from
    scheduler.held(4, 0);
    scaler.tick(100);
    expect(scheduler.concurrency).toBe(4);
    scheduler.held(0, 0);
    scaler.tick(900);
    expect(scheduler.concurrency).toBe(4);
    scaler.tick(1_200);
    expect(scheduler.concurrency).toBe(2);
  });
});

describe("autoscale", () => {
  it("grows the async pool's slots while tasks wait and shrinks them when idle", async () => {
    const { app, worker } = makeHarness({ worker: { autoscale: [4, 1], autoscaleKeepaliveMs: 200 } });
    let release = (): void => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    app.task("scale.wait", () => gate);
    await worker.start();
    expect(worker.stats().pool).toMatchObject({ concurrency: 1, maxConcurrency: 4 });
    const results = Array.from({ length: 4 }, () => app.sendTask("scale.wait", []));
    await until(() => worker.stats().running === 4, 20_000);
    expect(worker.stats().pool.concurrency).toBe(4);
    release();
    await Promise.all(results.map((result) => result.get({ timeout: 10_000 })));
    await until(() => worker.stats().pool.concurrency === 1, 20_000);
  });

  it("starts and stops processes with the load", async () => {
    const { app, worker } = await poolHarness({
      pool: "processes",
      autoscale: [3, 1],
      autoscaleKeepaliveMs: 300,
    });
    await worker.start();
    expect(worker.stats().pool.processes).toHaveLength(1);
    const results = Array.from({ length: 3 }, () => app.sendTask("pool.sleep", [3_000]));
    await until(() => worker.stats().pool.processes.length === 3 && worker.stats().running === 3, 30_000);
    await Promise.all(results.map((result) => result.get({ timeout: 30_000 })));
    await until(() => worker.stats().pool.processes.length === 1, 30_000);
    expect(worker.stats().pool.concurrency).toBe(1);
  });
});
