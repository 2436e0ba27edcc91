import { setTimeout as sleep } from "node:timers/promises";
import { createApp } from "@tq/core";

/**
 * The quickstart's app. With no broker given it uses memory://, so the worker must run in the same
 * process (see main.ts); set TQ_BROKER_URL to share the tasks with workers elsewhere (see worker-app.ts).
 */
export const app = createApp({ name: "quickstart" });

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
