// How much CPU beat spends on 10,000 entries: to start (read the store, compute every next run), while
// it waits for runs that are hours away, and while it sends 10,000 runs a minute. Not a test: run it
// with `pnpm --filter @tq/beat build && node packages/beat/bench/ten-thousand-entries.mjs`.
import { cpuUsage } from "node:process";
import { setTimeout as sleep } from "node:timers/promises";
import { createApp } from "@tq/core";
import { createBeat, crontab, every, MemoryScheduleStore } from "../dist/index.js";

const ENTRIES = 10_000;
const zones = ["UTC", "Asia/Shanghai", "America/New_York", "Europe/Berlin"];

async function measure(label, beatSchedule, waitMs) {
  const app = createApp({ broker: "memory://", resultBackend: null, env: false, beatSchedule });
  let sent = 0;
  const beat = createBeat(app, { store: new MemoryScheduleStore() });
  beat.on("sent", () => {
    sent += 1;
  });
  const startCpu = cpuUsage();
  const startWall = performance.now();
  await beat.start();
  const start = cpuUsage(startCpu);
  const startMs = performance.now() - startWall;
  const waitCpu = cpuUsage();
  await sleep(waitMs);
  const wait = cpuUsage(waitCpu);
  await beat.stop();
  await app.close();
  const ms = (usage) => ((usage.user + usage.system) / 1000).toFixed(0);
  console.log(
    `${label}: start ${startMs.toFixed(0)} ms wall / ${ms(start)} ms CPU; then ${waitMs / 1000} s: ${ms(wait)} ms CPU, ${sent} runs sent`,
  );
}

// Daily crontab entries at 2,000 different minutes in four zones: nothing due while we watch.
const daily = {};
for (let i = 0; i < ENTRIES; i += 1) {
  const schedule = crontab({ minute: i % 60, hour: Math.floor(i / 60) % 24, timezone: zones[i % 4] });
  daily[`daily-${i}`] = { task: "tasks.report", schedule };
}
await measure("10,000 daily crontab entries (idle)", daily, 10_000);

// Intervals of 60-119 s: about 10,000 runs a minute once they are due, so some are due within 20 s.
const intervals = {};
for (let i = 0; i < ENTRIES; i += 1)
  intervals[`every-${i}`] = { task: "tasks.tick", schedule: every(60 + (i % 60)) };
await measure("10,000 interval entries (idle for the first minute)", intervals, 20_000);

// Every 10 s: 10,000 runs every 10 s, sent to the in-memory broker.
const busy = {};
for (let i = 0; i < ENTRIES; i += 1) busy[`busy-${i}`] = { task: "tasks.tick", schedule: every(10) };
await measure("10,000 entries every 10 s (busy)", busy, 25_000);
