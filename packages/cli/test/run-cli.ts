import { type ChildProcess, execFile, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The built CLI's entry point. */
export const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
/** Directory of the fixture app modules. */
export const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));

/** How a CLI run ended. */
export interface CliRun {
  /** Exit status, or null when a signal ended it. */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Options of {@link runCli}. */
export interface RunCliOptions {
  /** @default FIXTURES */
  cwd?: string;
  /** Added to an environment that has no TQ_* variables. */
  env?: Record<string, string>;
  /** @default 20_000 */
  timeoutMs?: number;
}

/** The test's environment without TQ_* settings, which would change which broker a run uses. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { NO_COLOR: "1" };
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("TQ_")) env[key] = value;
  return { ...env, ...extra };
}

/** Runs `node dist/bin.js ...args` to completion. */
export function runCli(args: readonly string[], options: RunCliOptions = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: options.cwd ?? FIXTURES, env: cleanEnv(options.env), timeout: options.timeoutMs ?? 20_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A CLI process left running (the worker), with its output so far. */
export interface RunningCli {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stderr + stdout match, rejects after `timeoutMs` with the output so far. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit status once the process ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `node dist/bin.js ...args` and returns at once. */
export function startCli(args: readonly string[], options: RunCliOptions = {}): RunningCli {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? FIXTURES,
    env: cleanEnv(options.env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on("exit", (code, signal) => resolve({ code, signal }));
  });
  const killTimer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 25_000);
  void exited.then(() => clearTimeout(killTimer));
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    waitForOutput: (pattern, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const started = Date.now();
        const check = (): void => {
          if (pattern.test(stderr + stdout)) {
            resolve();
          } else if (child.exitCode !== null || Date.now() - started > timeoutMs) {
            const ended = child.exitCode === null ? "still running" : `exited with ${child.exitCode}`;
            const waited = Date.now() - started;
            reject(new Error(`no ${pattern} in output after ${waited} ms (${ended}):\n${stderr}\n${stdout}`));
          } else {
            setTimeout(check, 50);
          }
        };
        check();
      }),
  };
}

/** The lines of a text (a final line break ends the last line rather than starting an empty one). */
export function lines(text: string): string[] {
  return text === "" ? [] : text.replace(/\n$/, "").split("\n");
}
