import { constants } from "node:os";
import { TqError } from "@tq/core";
import type { ChildMessage, DoneMessage, InitMessage, RunMessage } from "./child-messages.js";
import type { ChildExit, ChildListeners, ChildTransport } from "./child-transport.js";
import { decodeError } from "./wire-error.js";

/** How a task sent to a child ended: the child answered, or it died first. */
export type ChildRunEnd = { kind: "done"; done: DoneMessage } | { kind: "exit"; exit: ChildExit };

/** Starts a child over some transport (a thread or a process). */
export type SpawnChild = (listeners: ChildListeners) => ChildTransport;

/**
 * One thread or process of a pool, seen from the worker: it loads the app (`ready`), then runs one
 * task at a time. Its end, expected or not, settles whatever waited on it.
 */
export class PoolChild {
  /** The pool's number for it. */
  readonly id: number;
  /** Resolves once the child loaded the app; rejects when it could not, or died first. */
  readonly ready: Promise<void>;
  /** Resolves once the child exited. */
  readonly exited: Promise<ChildExit>;
  /** Tasks it ran to an answer. */
  tasksRun = 0;
  /** Its memory after its last task, KiB. */
  memoryKiB = 0;
  /** True once it loaded the app. */
  loaded = false;
  /** True when it died while a task ran in it. */
  lostTask = false;
  readonly #transport: ChildTransport;
  #exit: ChildExit | undefined;
  #onReady: { resolve: () => void; reject: (error: unknown) => void } | undefined;
  #onExited: ((exit: ChildExit) => void) | undefined;
  #running: { jobNumber: number; settle: (end: ChildRunEnd) => void } | undefined;
  #stopping = false;

  constructor(id: number, spawn: SpawnChild, init: InitMessage) {
    this.id = id;
    this.ready = new Promise<void>((resolve, reject) => {
      this.#onReady = { resolve, reject };
    });
    // Whoever waits on `ready` handles its rejection; a child nobody waited on is dealt with on exit.
    this.ready.catch(() => {});
    this.exited = new Promise((resolve) => {
      this.#onExited = resolve;
    });
    this.#transport = spawn({
      message: (message) => this.#onMessage(message),
      exit: (exit) => this.#onExit(exit),
    });
    if (!this.#transport.send(init)) this.#transport.kill();
  }

  // An idle child must not keep the worker's process alive (the worker does while it runs); one it
  // waits on must, or a worker whose broker holds no handle (memory) would exit under it.
  #hold(held: boolean): void {
    if (!this.#exit) this.#transport.hold(held);
  }

  /** Process id of a process child; the worker's for a thread. */
  get pid(): number {
    return this.#transport.pid;
  }

  /** Thread id of a thread child; 0 for a process. */
  get threadId(): number {
    return this.#transport.threadId;
  }

  /** True once it exited. */
  get dead(): boolean {
    return this.#exit !== undefined;
  }

  /** True while a task runs in it. */
  get busy(): boolean {
    return this.#running !== undefined;
  }

  /** True once {@link kill} or {@link stop} was called: its exit is expected. */
  get stopping(): boolean {
    return this.#stopping;
  }

  /** Sends a task; resolves with the child's answer, or with its exit if it died first. */
  run(message: RunMessage): Promise<ChildRunEnd> {
    if (this.#exit) return Promise.resolve({ kind: "exit", exit: this.#exit });
    return new Promise((settle) => {
      this.#running = { jobNumber: message.jobNumber, settle };
      this.#hold(true);
      if (!this.#transport.send(message)) this.#transport.kill();
    });
  }

  /** Kills it at once (a task running in it is abandoned). */
  kill(): void {
    this.#stopping = true;
    this.#transport.kill();
  }

  /**
   * Asks it to close its app and exit, and kills it if it has not within `graceMs`. Resolves once it
   * exited.
   */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    if (this.#exit) return;
    this.#hold(true);
    if (!this.#transport.send({ type: "close" })) this.#transport.kill();
    const timer = setTimeout(() => this.#transport.kill(), graceMs);
    timer.unref();
    await this.exited;
    clearTimeout(timer);
  }

  #onMessage(message: ChildMessage): void {
    switch (message.type) {
      case "ready":
        this.loaded = true;
        this.#hold(false);
        this.#onReady?.resolve();
        return;
      case "init-failed":
        this.#onReady?.reject(decodeError(message.error));
        this.kill();
        return;
      case "done": {
        const running = this.#running;
        if (!running || running.jobNumber !== message.jobNumber) return;
        this.#running = undefined;
        this.#hold(false);
        this.tasksRun += 1;
        this.memoryKiB = message.memoryKiB;
        running.settle({ kind: "done", done: message });
        return;
      }
    }
  }

  #onExit(exit: ChildExit): void {
    this.#exit = exit;
    this.#onReady?.reject(
      exit.error ??
        new TqError("TQ_POOL", `the pool's child exited (${describeExit(exit)}) before it loaded the app`, {
          component: "pool",
        }),
    );
    const running = this.#running;
    this.#running = undefined;
    this.lostTask = running !== undefined;
    running?.settle({ kind: "exit", exit });
    this.#onExited?.(exit);
  }
}

/** `signal 9 (SIGKILL)` or `exitcode 1`, as billiard's `human_status` writes an exit. */
export function describeExit(exit: ChildExit): string {
  if (exit.signal !== null) return `signal ${signalNumber(exit.signal)} (${exit.signal})`;
  return `exitcode ${exit.code ?? 0}`;
}

function signalNumber(signal: NodeJS.Signals): number | string {
  return (constants.signals as Record<string, number | undefined>)[signal] ?? "?";
}
