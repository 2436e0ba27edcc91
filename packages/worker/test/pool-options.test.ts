import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type AppOptions, createApp, TqError } from "@tq/core";
import { describe, expect, it } from "vitest";
import { resolveWorkerOptions, type WorkerOptions } from "../src/options.js";

const appModule = join(tmpdir(), "tq-pool-options-app.mjs");
writeFileSync(appModule, "export const app = {};\n");

function resolve(options: WorkerOptions, appOptions: AppOptions = {}) {
  return resolveWorkerOptions(createApp({ env: false, ...appOptions }), options);
}

function configError(options: WorkerOptions, appOptions: AppOptions = {}): TqError {
  try {
    resolve(options, appOptions);
  } catch (error) {
    expect(TqError.is(error, "TQ_CONFIG")).toBe(true);
    return error as TqError;
  }
  throw new Error("expected a TQ_CONFIG error");
}

describe("pool options", () => {
  it("default to the async pool at the app's concurrency, with no limits", () => {
    const resolved = resolve({}, { workerConcurrency: 3 });
    expect(resolved.pool).toMatchObject({
      name: "async",
      maxConcurrency: 3,
      initialConcurrency: 3,
      autoscale: null,
      appModule: null,
      maxTasksPerChild: null,
      maxMemoryPerChild: null,
      timeLimits: { hard: null, soft: null },
    });
  });

  it("take the app's settings (workerPool, limits, time limits) unless the options set them", () => {
    const appOptions: AppOptions = {
      workerPool: "processes",
      workerMaxTasksPerChild: 10,
      workerMaxMemoryPerChild: 200_000,
      taskTimeLimit: 30,
      taskSoftTimeLimit: 20,
    };
    expect(resolve({ appModule }, appOptions).pool).toMatchObject({
      name: "processes",
      appModule: pathToFileURL(appModule).href,
      maxTasksPerChild: 10,
      maxMemoryPerChild: 200_000,
      timeLimits: { hard: 30, soft: 20 },
    });
    const own = resolve({ appModule, maxTasksPerChild: null, timeLimit: 5, softTimeLimit: 0 }, appOptions);
    expect(own.pool).toMatchObject({ maxTasksPerChild: null, timeLimits: { hard: 5, soft: null } });
  });

  it("run solo with one slot whatever the concurrency", () => {
    const resolved = resolve({ pool: "solo", concurrency: 8, prefetchMultiplier: 2 });
    expect(resolved.concurrency).toBe(1);
    expect(resolved.prefetch).toBe(2);
    expect(resolved.pool.maxConcurrency).toBe(1);
  });

  it("start an autoscaled worker at its minimum, with the prefetch of its maximum", () => {
    const resolved = resolve({ autoscale: [6, 2], concurrency: 3, prefetchMultiplier: 2 });
    expect(resolved.concurrency).toBe(6);
    expect(resolved.prefetch).toBe(12);
    expect(resolved.pool.initialConcurrency).toBe(2);
    expect(resolved.pool.autoscale).toEqual({ max: 6, min: 2, keepaliveMs: 30_000 });
  });

  it("accept a file URL as the app module", () => {
    const url = pathToFileURL(appModule);
    expect(resolve({ pool: "threads", appModule: url }).pool.appModule).toBe(url.href);
    expect(resolve({ pool: "threads", appModule: url.href }).pool.appModule).toBe(url.href);
  });

  it.each<[string, WorkerOptions, AppOptions, RegExp]>([
    [
      "an unknown pool",
      { pool: "prefork" as never },
      {},
      /pool must be one of async, solo, threads, processes/,
    ],
    ["an unknown workerPool", {}, { workerPool: "gevent" }, /workerPool \(app setting\) must be one of/],
    ["threads without appModule", { pool: "threads" }, {}, /the threads pool needs appModule/],
    ["processes without appModule", { pool: "processes" }, {}, /the processes pool needs appModule/],
    [
      "an appModule that is no file",
      { pool: "processes", appModule: "/nowhere/app.mjs" },
      {},
      /appModule .* names no file/,
    ],
    ["autoscale with min > max", { autoscale: [2, 3] }, {}, /autoscale must be \[max, min\]/],
    ["autoscale with max 0", { autoscale: [0, 0] }, {}, /autoscale must be \[max, min\]/],
    ["autoscale with one number", { autoscale: [4] as never }, {}, /autoscale must be \[max, min\]/],
    [
      "autoscale on solo",
      { pool: "solo", autoscale: [4, 1] },
      {},
      /autoscale does not apply to the solo pool/,
    ],
    ["a negative keepalive", { autoscale: [4, 1], autoscaleKeepaliveMs: -1 }, {}, /autoscaleKeepaliveMs/],
    [
      "a fractional maxTasksPerChild",
      { maxTasksPerChild: 1.5 },
      {},
      /maxTasksPerChild must be a positive integer/,
    ],
    [
      "a negative maxMemoryPerChild",
      { maxMemoryPerChild: -5 },
      {},
      /maxMemoryPerChild must be a positive integer/,
    ],
    ["a negative timeLimit", { timeLimit: -1 }, {}, /timeLimit must be a positive number of seconds/],
    ["a NaN softTimeLimit", { softTimeLimit: Number.NaN }, {}, /softTimeLimit must be a positive number/],
    ["an infinite taskTimeLimit", {}, { taskTimeLimit: Number.POSITIVE_INFINITY }, /timeLimit must be/],
  ])("refuse %s with TQ_CONFIG naming the option", (_, options, appOptions, message) => {
    expect(configError(options, appOptions).message).toMatch(message);
  });
});
