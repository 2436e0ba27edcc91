import { getHeapStatistics } from "node:v8";
import { threadId } from "node:worker_threads";
import {
  type App,
  type AppOverrides,
  canvasBuiltin,
  registerTransport,
  SoftTimeLimitExceeded,
  TqError,
  type TransportPlugin,
} from "@tq/core";
import { createTaskRequest, type StateUpdater } from "../build-request.js";
import { invokeTask } from "../invoke-task.js";
import { setLongTimeout } from "../timers.js";
import { createStateUpdater } from "../update-state.js";
import type {
  ChildMessage,
  ChildSetupData,
  DoneMessage,
  InitMessage,
  ParentMessage,
  RunMessage,
  WireResult,
} from "./child-messages.js";
import { importable, loadAppModule } from "./load-app-module.js";
import { encodeError } from "./wire-error.js";

/** How a child talks to its pool: a thread's `parentPort`, or a process's IPC channel. */
export interface ChildChannel {
  /** Sends a message; throws when the value cannot be cloned. */
  send(message: ChildMessage): void;
  /** Calls `handler` for every message from the pool. */
  onMessage(handler: (message: ParentMessage) => void): void;
  /** Ends the child. */
  exit(code: number): void;
}

/**
 * The child's side of a `threads` or `processes` pool: loads the app module, then runs the tasks the
 * pool sends, one at a time, through `invokeTask` with a full request (its `currentTask()` and
 * `updateState` work, through the child's own app), and answers with the outcome.
 */
export function serveChild(channel: ChildChannel): void {
  let state: { app: App; memory: InitMessage["memory"]; updater: StateUpdater | undefined } | undefined;
  channel.onMessage((message) => {
    switch (message.type) {
      case "init":
        initialise(message).then(
          (app) => {
            state = { app, memory: message.memory, updater: undefined };
            channel.send({ type: "ready", pid: process.pid, threadId });
          },
          (error: unknown) => channel.send({ type: "init-failed", error: encodeError(error) }),
        );
        return;
      case "run": {
        if (!state) throw new Error("a pool child got a task before its app was loaded");
        const current = state;
        current.updater ??= createStateUpdater(current.app, message.hostname);
        void runOne(current.app, current.updater, message).then((result) =>
          reply(channel, message, result, current.memory),
        );
        return;
      }
      case "close":
        void (state?.app.close() ?? Promise.resolve()).catch(() => {}).finally(() => channel.exit(0));
        return;
    }
  });
}

async function initialise(init: InitMessage): Promise<App> {
  await preload(init.setup);
  const app = await loadAppModule(init.appModule);
  const overrides: AppOverrides = {};
  const { brokerUrl, resultBackend } = init.setup;
  if (brokerUrl !== undefined && brokerUrl !== app.conf.brokerUrl) overrides.brokerUrl = brokerUrl;
  if (resultBackend !== undefined && resultBackend !== app.conf.resultBackend) {
    overrides.resultBackend = resultBackend;
  }
  if (Object.keys(overrides).length > 0) app.configure(overrides);
  return app;
}

async function preload(setup: ChildSetupData): Promise<void> {
  for (const { module, call } of setup.preload) {
    const namespace = (await import(importable(module))) as Record<string, unknown>;
    if (call === undefined) continue;
    const fn = namespace[call];
    if (typeof fn !== "function") {
      throw new TqError("TQ_CONFIG", `preload module ${module} exports no function named ${call}`, {
        component: "pool",
      });
    }
    await (fn as () => unknown)();
  }
  for (const { module, exportName } of setup.transports) {
    const namespace = (await import(importable(module))) as Record<string, unknown>;
    const plugin = namespace[exportName];
    if (
      typeof plugin !== "object" ||
      plugin === null ||
      !Array.isArray((plugin as TransportPlugin).schemes)
    ) {
      throw new TqError("TQ_CONFIG", `${module} exports no transport plugin named ${exportName}`, {
        component: "pool",
      });
    }
    registerTransport(plugin as TransportPlugin);
  }
}

async function runOne(app: App, updater: StateUpdater, run: RunMessage): Promise<WireResult> {
  const controller = new AbortController();
  const request = createTaskRequest(run.message, run.delivery, run.hostname, controller, updater);
  const seconds = run.softTimeLimit;
  const cancelSoft =
    seconds === null
      ? () => {}
      : setLongTimeout(() => controller.abort(new SoftTimeLimitExceeded(seconds)), seconds * 1000);
  try {
    const task = app.tasks.get(run.message.task) ?? canvasBuiltin(app, run.message.task);
    if (!task) {
      throw new TqError(
        "TQ_TASK_NOT_REGISTERED",
        `task ${run.message.task} is not registered in the app the pool's children load`,
        { component: "pool" },
      );
    }
    return { kind: "success", value: await invokeTask(task, request) };
  } catch (error) {
    return { kind: "error", error: encodeError(error) };
  } finally {
    cancelSoft();
  }
}

function reply(
  channel: ChildChannel,
  run: RunMessage,
  result: WireResult,
  memory: InitMessage["memory"],
): void {
  const done: DoneMessage = { type: "done", jobNumber: run.jobNumber, result, memoryKiB: memoryKiB(memory) };
  try {
    channel.send(done);
  } catch (error) {
    // A result that cannot cross (a function, a class with private state) fails the task, as a
    // result the backend cannot serialize does.
    channel.send({ ...done, result: { kind: "error", error: encodeError(error) } });
  }
}

function memoryKiB(memory: InitMessage["memory"]): number {
  const bytes = memory === "rss" ? process.memoryUsage.rss() : getHeapStatistics().used_heap_size;
  return Math.round(bytes / 1024);
}
