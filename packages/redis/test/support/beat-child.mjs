// A beat process for the high-availability test: the BUILT @tq/redis as broker and schedule store,
// one entry `tick` sent to its own queue. It reports on stdout, one JSON line each: when it leads or
// waits, and every run it sent (task id and due time), until SIGTERM stops it or SIGKILL ends it.
// Arguments: <url> <app name (the store namespace)> <queue> <interval s> <lease TTL ms>.
import { createBeat, every } from "@tq/beat";
import { createApp } from "@tq/core";
import { redisTransport } from "../../dist/index.js";

const [url, name, queue, interval, leaseTtlMs] = process.argv.slice(2);
const app = createApp({
  name,
  broker: url,
  resultBackend: null,
  env: false,
  transports: [redisTransport],
  beatSchedule: { tick: { task: "tasks.tick", schedule: every(Number(interval)), options: { queue } } },
});
const beat = createBeat(app, { store: url, leaseTtlMs: Number(leaseTtlMs) });
const report = (line) =>
  process.stdout.write(`${JSON.stringify({ pid: process.pid, at: Date.now(), ...line })}\n`);
beat.on("sent", ({ taskId, dueAt }) => report({ event: "sent", taskId, dueAt: dueAt.getTime() }));
beat.on("leader", () => report({ event: "leader" }));
beat.on("follower", ({ reason }) => report({ event: "follower", reason }));
process.on("SIGTERM", () => {
  beat
    .stop()
    .then(() => app.close())
    .finally(() => process.exit(0));
});
await beat.start();
report({ event: beat.isLeader ? "started leading" : "started waiting" });
