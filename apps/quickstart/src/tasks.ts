import { setTimeout as sleep } from "node:timers/promises";
import { crontab, every } from "@tq/beat";
import { createApp } from "@tq/core";

/**
 * The quickstart's app. With no broker given it uses memory://, so the worker must run in the same
 * process (see main.ts); set TQ_BROKER_URL to share the tasks with workers elsewhere (see worker-app.ts).
 *
 * Its periodic tasks, Celery's `beat_schedule`, are sent by `tq beat` or by a worker started with
 * `tq worker -B`: `tasks.add(16, 16)` every 30 seconds, and `tasks.multiply(3, 7)` at 10:50 every day,
 * Shanghai time (the app's `timezone`, Celery's setting of that name).
 */
export const app = createApp({
  name: "quickstart",
  timezone: "Asia/Shanghai",
  beatSchedule: {
    "add every 30 seconds": { task: "tasks.add", schedule: every("30s"), args: [16, 16] },
    "multiply at 10:50 every day": {
      task: "tasks.multiply",
      schedule: crontab({ hour: 10, minute: 50 }),
      args: [3, 7],
    },
  },
});

/** Adds two numbers, slowly: the 2 s stand in for real work (an API call, an image resize). */
export const add = app.task(
  "tasks.add",
  async (x: number, y: number) => {
    await sleep(2000);
    return x + y;
  },
  { params: ["x", "y"] },
);

/** Multiplies two numbers, as slowly. */
export const multiply = app.task(
  "tasks.multiply",
  async (x: number, y: number) => {
    await sleep(2000);
    return x * y;
  },
  { params: ["x", "y"] },
);
