/**
 * Child processes for the transport packages' interop and CLI tests: `tq worker`, `celery worker`, `tq call`, the Python
 * client. Every process is started in its own process group and tracked, so that {@link stopAll} in an
 * `afterAll`/`afterEach` ends it (and anything it forked) even when a test failed half-way.
 */
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

// src/ or dist/ of packages/test-processes: the monorepo root is three levels up either way.
const here = path.dirname(fileURLToPath(import.meta.url));
/** The monorepo root. */
export const REPO_ROOT = path.resolve(here, "../../..");
/** The `tq` launcher; needs `turbo run build --filter=@tq/cli`. */
export const TQ_BIN = path.join(REPO_ROOT, "packages/cli/bin/tq.js");

/** Options of a child process. */
export interface ProcessOptions {
  /** Working directory. */
  cwd: string;
  /** Environment, added to a minimal one (PATH, HOME) rather than to this process's own. */
  env?: Record<string, string>;
}

// A minimal environment: the test runner's TQ_* or PYTHON* variables must not leak into the children.
function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const base: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
  if (process.env.HOME) base.HOME = process.env.HOME;
  return { ...base, ...extra };
}

const running = new Set<ManagedProcess>();

/** A long-running child (a worker) whose combined stdout and stderr the test can wait on. */
export class ManagedProcess {
  /** Short name used in error messages. */
  readonly name: string;
  readonly #child: ChildProcess;
  #output = "";
  #stdout = "";
  #stderr = "";
  #exitStatus: number | null | undefined;
  readonly #exited: Promise<void>;
  readonly #listeners = new Set<() => void>();

  constructor(name: string, command: string, args: readonly string[], options: ProcessOptions) {
    this.name = name;
    // detached: the child leads its own process group, which stop() signals as a whole.
    this.#child = spawn(command, args, {
      cwd: options.cwd,
      env: childEnv(options.env),
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const collect = (stream: "stdout" | "stderr") => (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      this.#output += text;
      if (stream === "stdout") this.#stdout += text;
      else this.#stderr += text;
      for (const listener of this.#listeners) listener();
    };
    this.#child.stdout?.on("data", collect("stdout"));
    this.#child.stderr?.on("data", collect("stderr"));
    this.#exited = new Promise<void>((resolve) => {
      this.#child.once("error", (error) => {
        this.#output += `\n[spawn error] ${error.message}\n`;
        this.#exitStatus = null;
        resolve();
      });
      // "close", not "exit": it comes after the last output, which "exit" may precede.
      this.#child.once("close", (code) => {
        this.#exitStatus = code;
        resolve();
      });
    }).then(() => {
      running.delete(this);
      for (const listener of this.#listeners) listener();
    });
    running.add(this);
  }

  /** Process id. */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Everything it printed so far, stdout and stderr interleaved. */
  get output(): string {
    return this.#output;
  }

  /** What it printed on stdout so far. */
  get stdout(): string {
    return this.#stdout;
  }

  /** What it printed on stderr so far. */
  get stderr(): string {
    return this.#stderr;
  }

  /** Resolves with its exit status (null when a signal ended it) once it exited. */
  async exitStatus(): Promise<number | null> {
    await this.#exited;
    return this.#exitStatus ?? null;
  }

  /** True while it runs. */
  get alive(): boolean {
    return this.#exitStatus === undefined;
  }

  /**
   * Resolves once its output matches `pattern`; rejects, with the output's tail, when it exits first
   * or `timeoutMs` passes.
   */
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (error?: Error) => {
        clearTimeout(timer);
        this.#listeners.delete(check);
        if (error) reject(error);
        else resolve();
      };
      const check = () => {
        if (pattern.test(this.#output)) done();
        else if (!this.alive)
          done(this.#failure(`exited (status ${this.#exitStatus}) before printing ${pattern}`));
      };
      const timer = setTimeout(
        () => done(this.#failure(`did not print ${pattern} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#listeners.add(check);
      check();
    });
  }

  /** Sends SIGTERM to its process group, then SIGKILL when it is still there after `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    if (!this.alive) return;
    this.#signal("SIGTERM");
    const killed = await Promise.race([
      this.#exited.then(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(true), graceMs)),
    ]);
    if (killed) {
      this.#signal("SIGKILL");
      await this.#exited;
    }
  }

  /** Kills its process group at once (SIGKILL), as a crash would, and resolves once it is gone. */
  async kill(): Promise<void> {
    if (!this.alive) return;
    this.#signal("SIGKILL");
    await this.#exited;
  }

  #signal(signal: NodeJS.Signals): void {
    const pid = this.#child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // The group is already gone: the process exited between the check and the signal.
    }
  }

  #failure(what: string): Error {
    return new Error(`${this.name} ${what}; its output ends with:\n${this.#output.slice(-3000)}`);
  }
}

/** Stops every process started through this module that still runs. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((child) => child.stop()));
}

/** What a finished command did. */
export interface CommandResult {
  /** Exit status, or null when a signal (or the time-out) ended it. */
  status: number | null;
  stdout: string;
  stderr: string;
  /** Wall-clock time from spawn to exit. */
  durationMs: number;
  /** True when it was killed for running past `timeoutMs`. */
  timedOut: boolean;
}

/** Runs a command to completion; kills its process group after `timeoutMs` (and says so). */
export async function runCommand(
  command: string,
  args: readonly string[],
  options: ProcessOptions & { timeoutMs?: number },
): Promise<CommandResult> {
  const started = performance.now();
  const child = new ManagedProcess(path.basename(command), command, args, options);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void child.stop(1_000);
  }, options.timeoutMs ?? 20_000);
  const status = await child.exitStatus();
  clearTimeout(timer);
  return {
    status,
    stdout: child.stdout,
    stderr: child.stderr,
    durationMs: Math.round(performance.now() - started),
    timedOut,
  };
}

/** Polls `check` every 50 ms until it returns a value other than undefined; rejects after `timeoutMs`. */
export async function waitUntil<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
