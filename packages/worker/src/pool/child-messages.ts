import type { TaskMessage } from "@tq/core";
import type { RequestDelivery } from "../build-request.js";
import type { WireError } from "./wire-error.js";

// The messages between a pool and its children. Threads pass them with postMessage, processes over
// the IPC channel with `serialization: "advanced"`: both are structured clones, so Dates, Maps and
// typed arrays in a task's arguments and result cross unchanged.

/** {@link PoolChildSetup} with URLs as strings. */
export interface ChildSetupData {
  preload: { module: string; call?: string }[];
  transports: { module: string; exportName: string }[];
  brokerUrl?: string;
  resultBackend?: string | null;
}

/** First message to a child: load the app. */
export interface InitMessage {
  type: "init";
  /** The app module's file URL (or specifier). */
  appModule: string;
  setup: ChildSetupData;
  /** What the child reports as its memory after each task: its process's RSS, or its thread's heap. */
  memory: "rss" | "heap";
}

/** Runs one task; the child answers with a {@link DoneMessage}. */
export interface RunMessage {
  type: "run";
  /** The pool's job number, for WorkerLostError's "Job: N". */
  jobNumber: number;
  message: TaskMessage;
  delivery: RequestDelivery;
  hostname: string;
  /** Soft time limit in seconds, armed in the child; null for none. */
  softTimeLimit: number | null;
}

/** Closes the child's app and exits. */
export interface CloseMessage {
  type: "close";
}

/** What the pool sends. */
export type ParentMessage = InitMessage | RunMessage | CloseMessage;

/** The child loaded the app. */
export interface ReadyMessage {
  type: "ready";
  pid: number;
  threadId: number;
}

/** The child could not load the app; it waits to be stopped. */
export interface InitFailedMessage {
  type: "init-failed";
  error: WireError;
}

/** How a task ended in the child. */
export type WireResult = { kind: "success"; value: unknown } | { kind: "error"; error: WireError };

/** A task ended in the child. */
export interface DoneMessage {
  type: "done";
  jobNumber: number;
  result: WireResult;
  /** The child's memory after the task, KiB (RSS for processes, V8 heap used for threads). */
  memoryKiB: number;
}

/** What a child sends. */
export type ChildMessage = ReadyMessage | InitFailedMessage | DoneMessage;
