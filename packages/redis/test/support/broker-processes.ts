/**
 * Child processes for the crash tests: a tq worker on the built package, and Python's kombu (Celery
 * 5.2.6 / kombu 5.2.4 from Debian, run with /usr/bin/python3) holding or restoring messages.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CHILD = path.join(PACKAGE_DIR, "test/support/broker-crash-child.mjs");
const PYTHON = "/usr/bin/python3";

/** Builds dist/ when it is missing or older than a source file, so the child runs the current code. */
export function ensureBuilt(): void {
  const built = path.join(PACKAGE_DIR, "dist/index.js");
  const srcDir = path.join(PACKAGE_DIR, "src");
  const newest = Math.max(
    ...readdirSync(srcDir, { recursive: true, encoding: "utf8" })
      .filter((file) => file.endsWith(".ts"))
      .map((file) => statSync(path.join(srcDir, file)).mtimeMs),
  );
  const fresh = () => existsSync(built) && statSync(built).mtimeMs >= newest;
  if (fresh()) return;
  try {
    execFileSync(
      process.execPath,
      [path.join(PACKAGE_DIR, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
      {
        cwd: PACKAGE_DIR,
        stdio: "pipe",
      },
    );
  } catch (error) {
    // tsc still emits when some other file has a type error; only a missing build is fatal here.
    if (!fresh()) throw error;
  }
}

/** A child process whose stdout is read as JSON lines. */
export class JsonLineProcess {
  readonly child: ChildProcess;
  readonly lines: Record<string, unknown>[] = [];
  #stderr = "";
  readonly exited: Promise<number | null>;

  constructor(command: string, args: readonly string[]) {
    this.child = spawn(command, args, { cwd: PACKAGE_DIR, stdio: ["ignore", "pipe", "pipe"] });
    let buffer = "";
    this.child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      buffer += chunk;
      let newline = buffer.indexOf("\n");
      while (newline >= 0) {
        this.lines.push(JSON.parse(buffer.slice(0, newline)));
        buffer = buffer.slice(newline + 1);
        newline = buffer.indexOf("\n");
      }
    });
    this.child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      this.#stderr += chunk;
    });
    this.exited = new Promise((resolve) => this.child.once("exit", (code) => resolve(code)));
  }

  /** Waits for a line satisfying `check`; fails with the child's stderr if it exits first. */
  async waitFor(
    check: (line: Record<string, unknown>) => boolean,
    timeoutMs = 15_000,
  ): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(check);
      if (found) return found;
      if (this.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`child did not report in time (exit ${this.child.exitCode}): ${this.#stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** SIGKILL: the process gets no chance to put anything back. */
  async kill9(): Promise<void> {
    this.child.kill("SIGKILL");
    await this.exited;
  }
}

/** A tq worker on the built package that holds up to `prefetch` messages of `queue`. */
export function spawnTqHolder(
  url: string,
  queue: string,
  prefetch: number,
  visibilityTimeoutMs: number,
): JsonLineProcess {
  return new JsonLineProcess(process.execPath, [
    CHILD,
    url,
    queue,
    String(prefetch),
    String(visibilityTimeoutMs),
  ]);
}

// kombu 5.2.4: basic_get without no_ack records the message in unacked/unacked_index (QoS.append).
const PYTHON_HOLDER = `
import json, sys, time
from kombu import Connection
url, queue, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
with Connection(url) as conn:
    channel = conn.default_channel
    held = []
    while len(held) < count:
        message = channel.basic_get(queue, no_ack=False)
        if message is None:
            time.sleep(0.05)
            continue
        held.append(message.headers.get("id"))
        print(json.dumps({"held": held}), flush=True)
    time.sleep(600)
`;

/** Python kombu taking `count` messages of `queue` and holding them unacknowledged. */
export function spawnPythonHolder(url: string, queue: string, count: number): JsonLineProcess {
  return new JsonLineProcess(PYTHON, ["-c", PYTHON_HOLDER, url, queue, String(count)]);
}

// kombu's restore_visible with its own visibility timeout (seconds), as a Python worker runs it.
const PYTHON_RESTORE = `
import sys
from kombu import Connection
url, timeout = sys.argv[1], float(sys.argv[2])
with Connection(url, transport_options={"visibility_timeout": timeout}) as conn:
    conn.default_channel.qos.restore_visible(num=1000)
`;

/** Runs kombu's `restore_visible` once. */
export function runPythonRestore(url: string, visibilityTimeoutSeconds: number): void {
  execFileSync(PYTHON, ["-c", PYTHON_RESTORE, url, String(visibilityTimeoutSeconds)], { stdio: "pipe" });
}
