import type { TransportMessage } from "@tq/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { MessageRejectedEvent } from "../src/index.js";
import { cleanUp, makeHarness, publishRaw, taskMessage } from "./helpers.js";

afterEach(cleanUp);

async function nextDeadLetter(
  harness: ReturnType<typeof makeHarness>,
  queue: string,
): Promise<TransportMessage> {
  return new Promise((resolve) => {
    void harness.broker.consume(
      [queue],
      async (delivery) => {
        resolve(delivery.message);
        await delivery.ack();
      },
      { prefetch: 1 },
    );
  });
}

describe("messages the worker cannot run", () => {
  it("dead-letters an unregistered task, stores NotRegistered, and goes on", async () => {
    const harness = makeHarness();
    const { app, worker, broker, backend, logger } = harness;
    const add = app.task("tasks.add", (x: number, y: number) => x + y);
    const rejected: MessageRejectedEvent[] = [];
    worker.on("message-rejected", (event) => rejected.push(event));
    await worker.start();
    const unknown = app.sendTask("tasks.nowhere", [1]);
    await expect(unknown.get({ timeoutMs: 5_000 })).rejects.toMatchObject({
      code: "TQ_TASK_FAILED",
      excType: "NotRegistered",
    });
    expect((await backend.get(unknown.id))?.result).toEqual({
      exc_type: "NotRegistered",
      exc_message: ["tasks.nowhere"],
      exc_module: "celery.exceptions",
    });
    expect(await add.delay(1, 2).get({ timeoutMs: 5_000 })).toBe(3);
    await vi.waitFor(async () => expect(await broker.queueLength("celery.dead")).toBe(1));
    expect(rejected).toMatchObject([
      { code: "TQ_TASK_NOT_REGISTERED", taskId: unknown.id, deadLetterQueue: "celery.dead", queue: "celery" },
    ]);
    expect(logger.records).toContainEqual(
      expect.objectContaining({
        level: "error",
        message: "received unregistered task of type 'tasks.nowhere'",
      }),
    );
    const kept = await nextDeadLetter(harness, "celery.dead");
    expect(kept.headers.id).toBe(unknown.id);
    expect(kept.headers["x-tq-rejected-reason"]).toBe("received unregistered task of type 'tasks.nowhere'");
  });

  it.each([
    [
      "a body that is not JSON",
      (m: TransportMessage): TransportMessage => ({ ...m, body: new TextEncoder().encode("[1, 2") }),
      /cannot be decoded as application\/json/,
    ],
    [
      "a missing id header",
      (m: TransportMessage): TransportMessage => {
        const { id: _id, ...headers } = m.headers;
        return { ...m, headers };
      },
      /header "id" is missing/,
    ],
    [
      "a content type the app does not accept",
      (m: TransportMessage): TransportMessage => ({ ...m, contentType: "application/x-python-serialize" }),
      /unsupported content type "application\/x-python-serialize"/,
    ],
  ])("dead-letters %s unchanged and goes on", async (_, corrupt, reason) => {
    const harness = makeHarness();
    const { app, worker, broker, logger } = harness;
    const add = app.task("tasks.add", (x: number, y: number) => x + y);
    await worker.start();
    const bad = corrupt(taskMessage("tasks.add", [1, 2]));
    await publishRaw(broker, "celery", bad);
    expect(await add.delay(2, 2).get({ timeoutMs: 5_000 })).toBe(4);
    await vi.waitFor(async () => expect(await broker.queueLength("celery.dead")).toBe(1));
    const line = logger.records.find((r) => r.message === "rejected malformed message");
    expect(line?.level).toBe("error");
    expect(line?.attributes["tq.queue"]).toBe("celery");
    expect(line?.attributes["tq.reason"]).toMatch(reason);
    const kept = await nextDeadLetter(harness, "celery.dead");
    expect(kept.headers["x-tq-rejected-reason"]).toMatch(reason);
    expect(kept.contentType).toBe(bad.contentType);
    expect(Buffer.from(kept.body).equals(Buffer.from(bad.body))).toBe(true);
  });

  it("drops rejected messages after logging when deadLetterQueue is null", async () => {
    const { app, worker, broker } = makeHarness({ worker: { deadLetterQueue: null } });
    const add = app.task("tasks.add", (x: number, y: number) => x + y);
    const rejected: MessageRejectedEvent[] = [];
    worker.on("message-rejected", (event) => rejected.push(event));
    await worker.start();
    await publishRaw(broker, "celery", { ...taskMessage("tasks.add"), body: new Uint8Array([0xff]) });
    expect(await add.delay(1, 1).get({ timeoutMs: 5_000 })).toBe(2);
    await vi.waitFor(() => expect(rejected).toHaveLength(1));
    expect(rejected[0]?.deadLetterQueue).toBeNull();
    expect(await broker.queueLength("celery")).toBe(0);
    expect(await broker.queueLength("celery.dead")).toBe(0);
  });
});
