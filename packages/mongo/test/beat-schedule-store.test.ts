/**
 * @tq/beat on MongoDB (the test server, or TQ_TEST_MONGO_URL): the schedule store's contract, and a
 * restarted beat that continues from the recorded run without repeating or skipping one.
 */
import { randomUUID } from "node:crypto";
import { type BeatEvents, createBeat, every } from "@tq/beat";
import { createApp, type ScheduleStore } from "@tq/core";
import { runScheduleStoreConformance } from "@tq/transport-tests";
import { afterAll, describe, expect, it } from "vitest";
import { MongoScheduleStore, mongoTransport } from "../src/index.js";
import { TestDatabase } from "./support/mongo.js";

const database = new TestDatabase("beat");

afterAll(async () => {
  await database.drop();
});

runScheduleStoreConformance({
  name: "mongo",
  createStore: (namespace) => new MongoScheduleStore({ url: database.url, namespace }),
});

describe("beat on MongoDB", () => {
  it("takes mongodb:// URLs through the transport, and a restart neither repeats nor skips a run", async () => {
    const app = createApp({
      name: `beat-${randomUUID().slice(0, 8)}`,
      broker: "memory://",
      resultBackend: null,
      env: false,
      transports: [mongoTransport],
      beatSchedule: { tick: { task: "tasks.tick", schedule: every("400ms") } },
    });
    const sends: BeatEvents["sent"][] = [];
    const run = async (count: number): Promise<ScheduleStore> => {
      const beat = createBeat(app, { store: database.url });
      beat.on("sent", (event) => sends.push(event));
      await beat.start();
      const target = sends.length + count;
      const deadline = Date.now() + 20_000;
      while (sends.length < target && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await beat.stop();
      return beat.store;
    };
    const store = await run(3);
    expect(store).toBeInstanceOf(MongoScheduleStore);
    const before = sends.length;
    await run(3);
    expect(sends.length).toBeGreaterThanOrEqual(before + 3);
    const due = sends.map((send) => send.dueAt.getTime());
    for (let i = 1; i < due.length; i += 1)
      expect((due[i] as number) - (due[i - 1] as number)).toBeGreaterThanOrEqual(400);
    expect((due[before] as number) - (due[before - 1] as number)).toBe(400);
    const state = await database.db.collection("tq_beat").findOne({ _id: `${app.name}:state:tick` as never });
    expect(state).toMatchObject({ lastRunAt: due.at(-1), totalRunCount: sends.length });
    await app.close();
  }, 60_000);
});
