/**
 * The quickstart's two periodic entries on a fake clock: `add every 30 seconds` sends tasks.add(16, 16)
 * every 30 s, and `multiply at 10:50 every day` sends tasks.multiply(3, 7) at 10:50 Shanghai time.
 */
import { createBeat, MemoryScheduleStore } from "@tq/beat";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { app } from "../src/tasks.js";

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date("2026-06-01T02:48:00Z")); // 10:48 in Shanghai
});

afterEach(() => {
  vi.useRealTimers();
});

it("sends add(16, 16) every 30 seconds and multiply(3, 7) at 10:50 every day, Shanghai time", async () => {
  const sent: { task: string; args: readonly unknown[]; at: string }[] = [];
  const stopListening = app.signals.on("beforeTaskPublish", ({ taskName, args }) => {
    sent.push({ task: taskName, args, at: new Date().toISOString() });
  });
  const beat = createBeat(app, { store: new MemoryScheduleStore() });
  await beat.start();
  try {
    await vi.advanceTimersByTimeAsync(150_000); // to 10:50:30
    const adds = sent.filter((send) => send.task === "tasks.add");
    expect(adds.map((send) => send.at)).toEqual([
      "2026-06-01T02:48:30.000Z",
      "2026-06-01T02:49:00.000Z",
      "2026-06-01T02:49:30.000Z",
      "2026-06-01T02:50:00.000Z",
      "2026-06-01T02:50:30.000Z",
    ]);
    expect(adds.every((send) => JSON.stringify(send.args) === "[16,16]")).toBe(true);
    expect(sent.filter((send) => send.task === "tasks.multiply")).toEqual([
      { task: "tasks.multiply", args: [3, 7], at: "2026-06-01T02:50:00.000Z" },
    ]);
    await vi.advanceTimersByTimeAsync(24 * 3600 * 1000);
    expect(sent.filter((send) => send.task === "tasks.multiply").map((send) => send.at)).toEqual([
      "2026-06-01T02:50:00.000Z",
      "2026-06-02T02:50:00.000Z",
    ]);
  } finally {
    stopListening();
    await beat.stop();
    await app.close();
  }
});
