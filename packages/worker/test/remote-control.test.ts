import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  buildTaskMessage,
  currentTask,
  encodeControlRequest,
  jsonSerializer,
  MemoryServer,
  type TransportMessage,
} from "@tq/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanUp, makeHarness, publishRaw, type RecordingLogger, sleep } from "./helpers.js";

afterEach(cleanUp);

const logged = (logger: RecordingLogger, text: string | RegExp): boolean =>
  logger.records.some((record) =>
    typeof text === "string" ? record.message.includes(text) : text.test(record.message),
  );

/** Waits until the worker logged a line: memory broadcasts arrive in a later turn. */
async function untilLogged(logger: RecordingLogger, text: string | RegExp, count = 1): Promise<void> {
  await vi.waitFor(
    () => {
      const seen = logger.records.filter((record) =>
        typeof text === "string" ? record.message.includes(text) : text.test(record.message),
      );
      expect(seen.length).toBeGreaterThanOrEqual(count);
    },
    { timeout: 5_000, interval: 5 },
  );
}

describe("revoke through app.control (memory)", () => {
  it("a task revoked before it arrives is not run: REVOKED, task-revoked, acked", async () => {
    const { app, worker, backend, logger, server } = makeHarness({ worker: { hostname: "w1@test" } });
    const ran: string[] = [];
    const task = app.task("tasks.never", (id: string) => ran.push(id));
    const revoked: unknown[] = [];
    worker.on("task-revoked", (event) => revoked.push(event));
    await worker.start();
    await app.control.revoke("revoked-1");
    await untilLogged(logger, "tasks flagged as revoked: revoked-1");
    const result = task.applyAsync(["revoked-1"], {}, { taskId: "revoked-1" });
    await expect(result.get({ timeoutMs: 5_000 })).rejects.toMatchObject({ code: "TQ_TASK_REVOKED" });
    expect(await backend.get("revoked-1")).toMatchObject({
      status: "REVOKED",
      result: { exc_type: "TaskRevokedError", exc_message: ["revoked"], exc_module: "celery.exceptions" },
    });
    expect(revoked).toEqual([expect.objectContaining({ taskId: "revoked-1", reason: "revoked" })]);
    expect(logged(logger, "discarding revoked task tasks.never[revoked-1]")).toBe(true);
    expect(ran).toEqual([]);
    await vi.waitFor(() => expect(server.inFlightCount("celery")).toBe(0));
    // Other tasks still run.
    expect(await task.delay("other").get({ timeoutMs: 5_000 })).toBe(1);
  });

  it("acts only on requests for this node: destination, glob and pcre patterns", async () => {
    const { app, worker, logger } = makeHarness({ worker: { hostname: "w1@test" } });
    await worker.start();
    await app.control.revoke("for-other", { destination: ["w2@test"] });
    await app.control.revoke("for-glob", { pattern: "w[0-9]@*" });
    await app.control.revoke("for-glob-miss", { pattern: "x*" });
    await app.control.revoke("for-pcre", { pattern: "w\\d@", matcher: "pcre" });
    await app.control.revoke("for-me", { destination: ["w2@test", "w1@test"] });
    await untilLogged(logger, "tasks flagged as revoked: for-me");
    const flagged = logger.records
      .filter((record) => record.message.startsWith("tasks flagged as revoked"))
      .map((record) => record.message.replace("tasks flagged as revoked: ", ""));
    expect(flagged).toEqual(["for-glob", "for-pcre", "for-me"]);
  });

  it("revokes at once the jobs it already holds: waiting for a slot and held for their ETA", async () => {
    const { app, worker, backend, server, broker } = makeHarness({
      worker: { concurrency: 1, prefetchMultiplier: 10 },
    });
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const ran: string[] = [];
    const block = app.task("tasks.block", () => gate);
    const work = app.task("tasks.work", (id: string) => ran.push(id));
    const revoked: string[] = [];
    worker.on("task-revoked", (event) => revoked.push(event.taskId));
    await worker.start();
    const blocker = block.delay();
    await vi.waitFor(() => expect(worker.active).toBe(1));
    const waiting = work.applyAsync(["waiting"], {}, { taskId: "waiting-1" });
    // Published as it is: the memory broker would otherwise hold a countdown task itself.
    const eta = new Date(Date.now() + 30_000);
    const heldMessage = buildTaskMessage(
      { id: "held-1", task: "tasks.work", args: ["held"], kwargs: {}, eta },
      jsonSerializer,
    );
    await publishRaw(broker, "celery", heldMessage);
    const held = app.asyncResult("held-1");
    const kept = work.applyAsync(["kept"], {}, { taskId: "kept-1" });
    await vi.waitFor(() => expect(worker.stats()).toMatchObject({ waiting: 2, held: 1 }));
    await app.control.revoke(["waiting-1", "held-1"]);
    // Revoked while the only slot is still taken: they did not wait for a slot or for their ETA.
    await vi.waitFor(() => expect(revoked.sort()).toEqual(["held-1", "waiting-1"]));
    expect(worker.stats()).toMatchObject({ waiting: 1, held: 0, running: 1 });
    for (const result of [waiting, held]) {
      await expect(result.get({ timeoutMs: 5_000 })).rejects.toMatchObject({ code: "TQ_TASK_REVOKED" });
    }
    release();
    await blocker.get({ timeoutMs: 5_000 });
    await kept.get({ timeoutMs: 5_000 });
    expect(ran).toEqual(["kept"]);
    expect((await backend.get("held-1"))?.status).toBe("REVOKED");
    await vi.waitFor(() => expect(server.inFlightCount("celery")).toBe(0));
  });

  it("terminate aborts a running task's signal, stores REVOKED terminated, and the next task runs", async () => {
    const { app, worker, backend } = makeHarness({ worker: { concurrency: 1 } });
    let abortReason: unknown;
    const long = app.task("tasks.long", async () => {
      const signal = currentTask()?.signal;
      await new Promise<void>((resolve) => signal?.addEventListener("abort", () => resolve()));
      abortReason = signal?.reason;
      return "stopped";
    });
    const quick = app.task("tasks.quick", () => "quick");
    await worker.start();
    const running = long.applyAsync([], {}, { taskId: "long-1" });
    await vi.waitFor(() => expect(worker.active).toBe(1));
    await app.control.revoke("long-1", { terminate: true, signal: "SIGKILL" });
    await expect(running.get({ timeoutMs: 5_000 })).rejects.toMatchObject({ code: "TQ_TASK_REVOKED" });
    expect(await backend.get("long-1")).toMatchObject({
      status: "REVOKED",
      result: { exc_type: "TaskRevokedError", exc_message: ["terminated"] },
    });
    expect(abortReason).toMatchObject({ code: "TQ_TASK_REVOKED", excMessage: ["terminated"] });
    expect(await quick.delay().get({ timeoutMs: 5_000 })).toBe("quick");
  });

  it("rate_limit changes the worker's rate limit; a bad one is logged and changes nothing", async () => {
    const { app, worker, logger } = makeHarness({ worker: { hostname: "w1@test" } });
    app.task("tasks.limited", () => 1);
    const change = vi.spyOn(worker, "setRateLimit");
    await worker.start();
    await app.control.rateLimit("tasks.limited", "10/m", { destination: "w1@test" });
    await app.control.rateLimit("tasks.unknown", "10/m");
    await vi.waitFor(() => expect(change).toHaveBeenCalledTimes(2));
    expect(change.mock.calls).toEqual([
      ["tasks.limited", "10/m"],
      ["tasks.unknown", "10/m"],
    ]);
    await untilLogged(logger, /^rate limit not changed: .*tasks\.unknown/);
  });

  it("skips unreadable control messages and logs unsupported commands at debug", async () => {
    const { app, worker, logger, broker } = makeHarness();
    await worker.start();
    const bad: TransportMessage = {
      headers: {},
      properties: {},
      contentType: "application/json",
      contentEncoding: "utf-8",
      body: new TextEncoder().encode("{not json"),
    };
    await broker.broadcast("celery.pidbox", bad);
    await broker.broadcast(
      "celery.pidbox",
      encodeControlRequest({
        request: { method: "ping", arguments: {}, destination: null, pattern: null, matcher: null },
        clock: 7,
        expires: 0,
      }),
    );
    await broker.broadcast(
      "celery.pidbox",
      encodeControlRequest({
        request: {
          method: "revoke",
          arguments: { task_id: 5 },
          destination: null,
          pattern: null,
          matcher: null,
        },
        clock: 8,
        expires: 0,
      }),
    );
    await untilLogged(logger, "skipping a remote control message that cannot be read");
    await untilLogged(logger, "remote control command ignored: not supported by this worker");
    await untilLogged(logger, "remote control command failed");
    expect(
      await app
        .task("tasks.ok", () => "ok")
        .delay()
        .get({ timeoutMs: 5_000 }),
    ).toBe("ok");
  });

  it("two workers on one broker both honour a broadcast revoke", async () => {
    const server = new MemoryServer();
    const one = makeHarness({ server, worker: { hostname: "one@test" } });
    const two = makeHarness({ server, backend: one.backend, worker: { hostname: "two@test" } });
    await Promise.all([one.worker.start(), two.worker.start()]);
    await one.app.control.revoke("shared-1");
    await untilLogged(one.logger, "tasks flagged as revoked: shared-1");
    await untilLogged(two.logger, "tasks flagged as revoked: shared-1");
  });
});

describe("statedb (memory)", () => {
  it("revoked ids survive a worker restart through the state file", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "tq-statedb-worker-"));
    try {
      const file = path.join(dir, "%n.state");
      const server = new MemoryServer();
      const first = makeHarness({ server, worker: { hostname: "w1@test", stateDb: file } });
      await first.worker.start();
      await first.app.control.revoke(["gone-1", "gone-2"]);
      await untilLogged(first.logger, "tasks flagged as revoked");
      await first.worker.stop();
      const saved = JSON.parse(await readFile(path.join(dir, "w1.state"), "utf8")) as { revoked: unknown[] };
      expect(saved.revoked.map((entry) => (entry as [string])[0])).toEqual(["gone-1", "gone-2"]);

      const second = makeHarness({
        server,
        backend: first.backend,
        worker: { hostname: "w1@test", stateDb: file },
      });
      const ran: string[] = [];
      const task = second.app.task("tasks.gone", (id: string) => ran.push(id));
      await second.worker.start();
      const result = task.applyAsync(["gone-1"], {}, { taskId: "gone-1" });
      await expect(result.get({ timeoutMs: 5_000 })).rejects.toMatchObject({ code: "TQ_TASK_REVOKED" });
      expect(await task.delay("other").get({ timeoutMs: 5_000 })).toBe(1);
      expect(ran).toEqual(["other"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("saves on change without waiting for the stop", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "tq-statedb-worker-"));
    try {
      const file = path.join(dir, "worker.state");
      const { app, worker } = makeHarness({ worker: { stateDb: file } });
      await worker.start();
      await app.control.revoke("soon-saved");
      await vi.waitFor(
        async () => {
          const saved = JSON.parse(await readFile(file, "utf8")) as { revoked: [string, number][] };
          expect(saved.revoked.map(([id]) => id)).toEqual(["soon-saved"]);
        },
        { timeout: 5_000, interval: 50 },
      );
      await sleep(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
