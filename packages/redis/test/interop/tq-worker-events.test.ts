/**
 * Python Celery's event receiver and monitor state (what Flower and `celery events` use) see a tq
 * worker through one Redis (DB 10, shared with the other interop files: only channels and its own queue): its worker-online, worker-heartbeat and worker-offline events arrive
 * on Celery's channels with Celery's fields, and Celery's State counts the worker alive, then gone.
 */
import path from "node:path";
import { createApp } from "@tq/core";
import { createWorker } from "@tq/worker";
import { afterAll, describe, expect, it } from "vitest";
import { RedisBackend } from "../../src/backend.js";
import { RedisBroker } from "../../src/broker.js";
import { ManagedProcess, stopAll } from "../support/interop-processes.js";
import { PYTHON, PYTHON_DIR } from "../support/interop-python.js";
import { testRedisUrl } from "../support/interop-tq.js";

const url = testRedisUrl(10);

describe("tq worker events → Python Celery's event receiver (Redis)", () => {
  afterAll(async () => {
    await stopAll();
  });

  it("Celery's State sees the worker online, alive after heartbeats, and offline after stop", async () => {
    const hostname = `tq-events-${process.pid}@test`;
    const watcher = new ManagedProcess(
      "watch_events.py",
      PYTHON,
      [path.join(PYTHON_DIR, "watch_events.py"), url, hostname, "30"],
      { cwd: PYTHON_DIR, env: { PYTHONUNBUFFERED: "1" } },
    );
    await watcher.waitForOutput(/"ready": true/, 20_000);
    // The receiver subscribes right after it prints ready; give it a moment before the worker starts.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const app = createApp({
      broker: new RedisBroker({ url }),
      resultBackend: new RedisBackend({ url }),
      env: false,
    });
    const worker = createWorker(app, { hostname, heartbeatInterval: 0.3, queues: [`events-${process.pid}`] });
    await worker.start();
    await watcher.waitForOutput(/"type": "worker-heartbeat"[\s\S]*"type": "worker-heartbeat"/, 20_000);
    await worker.stop();
    await watcher.waitForOutput(/"summary": true/, 20_000);
    const events = watcher.output
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const types = events.map((event) => event.type).filter(Boolean);
    expect(types[0]).toBe("worker-online");
    expect(types.at(-1)).toBe("worker-offline");
    const heartbeat = events.find((event) => event.type === "worker-heartbeat");
    expect(heartbeat).toMatchObject({
      hostname,
      pid: process.pid,
      freq: 0.3,
      active: 0,
      processed: 0,
      sw_ident: "tq-node",
      sw_sys: expect.any(String),
    });
    expect(heartbeat?.loadavg).toHaveLength(3);
    const summary = events.at(-1);
    expect(summary).toMatchObject({
      summary: true,
      alive_after_heartbeat: true,
      offline: true,
      alive_now: false,
    });
  }, 60_000);
});
