import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Worker as Thread } from "node:worker_threads";
import type { ChildMessage, ParentMessage } from "./child-messages.js";

/** How a child ended. */
export interface ChildExit {
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  /** The signal that ended a process (never set for a thread). */
  signal: NodeJS.Signals | null;
  /** The uncaught error that ended a thread, if any. */
  error?: Error;
}

/** The worker's handle on one child, the same for a thread and a process. */
export interface ChildTransport {
  /** Process id of the child process (the worker's own for a thread). */
  readonly pid: number;
  /** Thread id of the child thread; 0 for a process. */
  readonly threadId: number;
  /** Sends a message; false when the child is gone. */
  send(message: ParentMessage): boolean;
  /** Kills the child at once (SIGKILL; `terminate()` for a thread, which stops even a loop that never yields). */
  kill(): void;
  /**
   * Whether the child keeps the worker's process alive: while the worker waits on it (it loads the
   * app, or runs a task), not while it is idle.
   */
  hold(held: boolean): void;
}

/** What a transport reports to its owner. */
export interface ChildListeners {
  message(message: ChildMessage): void;
  exit(exit: ChildExit): void;
}

// The entry sits next to this file, in the built package (dist/pool/child-main.js).
const ENTRY = new URL("./child-main.js", import.meta.url);

/** Starts a child thread. Its stdout and stderr go to the worker's. */
export function spawnThread(listeners: ChildListeners): ChildTransport {
  const thread = new Thread(ENTRY);
  let error: Error | undefined;
  thread.on("message", (message: ChildMessage) => listeners.message(message));
  thread.on("error", (thrown: Error) => {
    error = thrown;
  });
  thread.on("exit", (code) => listeners.exit({ code, signal: null, ...(error ? { error } : {}) }));
  return {
    pid: process.pid,
    threadId: thread.threadId,
    send(message) {
      try {
        thread.postMessage(message);
        return true;
      } catch {
        return false;
      }
    },
    kill() {
      void thread.terminate();
    },
    hold(held) {
      if (held) thread.ref();
      else thread.unref();
    },
  };
}

/** Starts a child process (Node with the worker's own flags). Its stdout and stderr go to the worker's. */
export function spawnProcess(listeners: ChildListeners): ChildTransport {
  const child = fork(fileURLToPath(ENTRY), [], { serialization: "advanced", stdio: "inherit" });
  child.on("message", (message: ChildMessage) => listeners.message(message));
  // `error` comes when the process could not be started (then no `exit` follows) or signalled.
  child.on("error", (error) => {
    if (child.pid === undefined) listeners.exit({ code: null, signal: null, error });
  });
  child.on("exit", (code, signal) => listeners.exit({ code, signal }));
  return {
    pid: child.pid ?? 0,
    threadId: 0,
    send(message) {
      if (!child.connected) return false;
      try {
        // false only means the channel's backlog is long: the message is queued all the same.
        child.send(message);
        return true;
      } catch {
        return false;
      }
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
    hold(held) {
      if (held) {
        child.ref();
        child.channel?.ref();
      } else {
        child.unref();
        child.channel?.unref();
      }
    },
  };
}
