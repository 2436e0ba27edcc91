import { type TaskMeta, TqError } from "@tq/core";
import { expect } from "vitest";
import { stateMeta } from "./backend-harness.js";
import type { DefineBackendTest } from "./backend-suite.js";
import { sleep } from "./wait.js";

/** Settles to "pending" or the outcome of a promise, without waiting for it. */
function track<T>(promise: Promise<T>): {
  readonly state: "pending" | "resolved" | "rejected";
  readonly value?: T;
} {
  const tracked: { state: "pending" | "resolved" | "rejected"; value?: T } = { state: "pending" };
  promise.then(
    (value) => {
      tracked.state = "resolved";
      tracked.value = value;
    },
    () => {
      tracked.state = "rejected";
    },
  );
  return tracked;
}

const codeOf = (error: unknown): string | undefined => (TqError.is(error) ? error.code : undefined);

/** waitFor, closing, and chords. */
export function registerWaitBackendTests(test: DefineBackendTest): void {
  test("waitFor resolves when a ready state is stored later, not for STARTED", async (h) => {
    const [client, worker] = [await h.backend(), await h.backend()];
    const taskId = h.id("wait");
    const waiting = track(client.waitFor(taskId, { timeoutMs: h.options.timeoutMs }));
    await worker.store(stateMeta(taskId, "STARTED", { pid: 1, hostname: "conformance" }));
    await sleep(h.options.quietPeriodMs);
    expect(waiting.state).toBe("pending");
    await worker.store(stateMeta(taskId, "SUCCESS", { value: 42 }));
    await expect.poll(() => waiting.state, { timeout: h.options.timeoutMs }).toBe("resolved");
    expect(waiting.value).toMatchObject({ task_id: taskId, status: "SUCCESS", result: { value: 42 } });
  });

  test("waitFor resolves at once for a task that is already ready, FAILURE and REVOKED included", async (h) => {
    const backend = await h.backend();
    for (const status of ["SUCCESS", "FAILURE", "REVOKED"]) {
      const taskId = h.id(`ready-${status.toLowerCase()}`);
      await backend.store(stateMeta(taskId, status));
      const meta: TaskMeta = await backend.waitFor(taskId, { timeoutMs: h.options.timeoutMs });
      expect(meta.status).toBe(status);
    }
  });

  test("waitFor rejects with TQ_TIMEOUT after timeoutMs", async (h) => {
    const backend = await h.backend();
    const error = await backend.waitFor(h.id("timeout"), { timeoutMs: 100 }).catch((e: unknown) => e);
    expect(codeOf(error)).toBe("TQ_TIMEOUT");
  });

  test("waitFor rejects with TQ_ABORTED when its signal aborts, or was aborted already", async (h) => {
    const backend = await h.backend();
    const controller = new AbortController();
    const waiting = backend.waitFor(h.id("abort"), { signal: controller.signal }).catch((e: unknown) => e);
    await sleep(10);
    controller.abort();
    expect(codeOf(await waiting)).toBe("TQ_ABORTED");
    const already = await backend
      .waitFor(h.id("aborted"), { signal: AbortSignal.abort() })
      .catch((e: unknown) => e);
    expect(codeOf(already)).toBe("TQ_ABORTED");
  });

  test("close rejects waits in progress with TQ_CLOSED", async (h) => {
    const backend = await h.backend();
    const waiting = backend.waitFor(h.id("close")).catch((e: unknown) => e);
    await sleep(10);
    await h.close(backend);
    expect(codeOf(await waiting)).toBe("TQ_CLOSED");
  });

  test("a chord completes exactly once, with its parts in header order", async (h) => {
    const workers = [await h.backend(), await h.backend(), await h.backend()];
    const groupId = h.id("chord");
    await workers[0]!.setChordSize(groupId, 3);
    const part = (index: number) => ({
      index,
      taskId: `${groupId}-${index}`,
      status: "SUCCESS",
      result: { index },
    });
    // Members finish out of order, concurrently, on different workers.
    const progress = await Promise.all(
      [2, 0, 1].map((index, i) => workers[i]!.addChordPart(groupId, part(index))),
    );
    const completions = progress.filter((p) => p.complete);
    expect(completions).toHaveLength(1);
    expect(completions[0]!.received).toBe(3);
    expect(completions[0]!.parts).toEqual([part(0), part(1), part(2)]);
    expect(progress.map((p) => p.received).sort()).toEqual([1, 2, 3]);
    // A member reported again (its task was redelivered) must not complete the chord a second time.
    expect((await workers[1]!.addChordPart(groupId, part(0))).complete).toBe(false);
  });

  test("clearChord removes a chord's bookkeeping", async (h) => {
    const backend = await h.backend();
    const groupId = h.id("clear");
    const part = (index: number) => ({
      index,
      taskId: `${groupId}-${index}`,
      status: "SUCCESS",
      result: index,
    });
    await backend.setChordSize(groupId, 2);
    expect((await backend.addChordPart(groupId, part(0))).complete).toBe(false);
    await backend.clearChord(groupId);
    await backend.setChordSize(groupId, 2);
    const first = await backend.addChordPart(groupId, part(0));
    expect(first).toMatchObject({ complete: false, received: 1 });
    const second = await backend.addChordPart(groupId, part(1));
    expect(second).toMatchObject({ complete: true, received: 2 });
    expect(second.parts.map((p) => p.index)).toEqual([0, 1]);
  });
}
