/**
 * Redis server processes for tests: started from the machine's `redis-server` on free loopback ports,
 * killed together (and when the test process exits), their files in a temporary directory.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { Redis } from "ioredis";

/** A server's address on loopback. */
export interface ServerAddress {
  host: string;
  port: number;
}

export const HOST = "127.0.0.1";
const START_TIMEOUT_MS = 15_000;
// Processes of this test process, killed when it exits even if a test forgot stop(). One set per
// process, however many test files load this module into it.
const live = liveProcesses();
// A worker killed by a signal runs no "exit" handler: where util-linux' setpriv exists, the kernel
// kills the servers when their parent dies (PR_SET_PDEATHSIG).
const launcher = onPath("setpriv") ? ["setpriv", "--pdeathsig", "SIGKILL", "--"] : [];

/** Sends one command to a server on loopback and returns its reply. */
export async function command(port: number, name: string, ...args: (string | number)[]): Promise<unknown> {
  const client = new Redis({
    host: HOST,
    port,
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
  });
  client.on("error", () => {});
  try {
    await client.connect();
    return await client.call(name, ...args);
  } finally {
    client.disconnect();
  }
}

/**
 * Polls `check` until it is true, failing after `timeoutMs` with what was waited for, or at once
 * when `hopeless` gives a reason to stop.
 */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = START_TIMEOUT_MS,
  hopeless: () => string | undefined = () => undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    const reason = hopeless();
    if (reason !== undefined) throw new Error(`gave up waiting for ${what}: ${reason}`);
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Redis processes sharing one temporary directory, stopped together. Fails clearly without the binaries. */
export class ProcessGroup {
  readonly dir: string;
  readonly #children = new Map<number, ChildProcess>();
  readonly #reserved = new Set<number>();

  constructor(prefix: string) {
    requireBinaries();
    this.dir = mkdtempSync(join(tmpdir(), prefix));
  }

  /** Starts `redis-server` on a free port with the extra arguments `argsFor(port)`. */
  server(argsFor: (port: number) => string[]): Promise<ServerAddress> {
    return this.#start((port) => [
      "redis-server",
      ...["--port", String(port), "--bind", HOST, "--save", "", "--appendonly", "no", "--dir", this.dir],
      ...argsFor(port),
    ]);
  }

  /** Starts a Sentinel (`redis-server <conf> --sentinel`, what `redis-sentinel` runs) on a free port. */
  sentinel(configFor: (port: number) => string): Promise<ServerAddress> {
    return this.#start((port) => ["redis-server", configFor(port), "--sentinel"]);
  }

  /** Kills the process serving `port` without waiting (a crash). */
  kill(port: number): void {
    this.#children.get(port)?.kill("SIGKILL");
  }

  async stop(): Promise<void> {
    const children = [...this.#children.values()];
    this.#children.clear();
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((resolve) => child.once("exit", resolve));
          child.kill("SIGKILL");
          await exited;
        }
        live.delete(child);
      }),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }

  // A port found free can be taken before the server binds it (other test files start servers
  // too): start again on another port when that happens.
  async #start(commandFor: (port: number) => string[]): Promise<ServerAddress> {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort(this.#reserved);
      this.#reserved.add(port);
      const [program = "", ...args] = commandFor(port);
      const [executable = "", ...launch] = [...launcher, program, ...args];
      const child = spawn(executable, launch, { cwd: this.dir, stdio: ["ignore", "pipe", "pipe"] });
      this.#children.set(port, child);
      live.add(child);
      let output = "";
      const keep = (chunk: Buffer) => {
        output = (output + chunk.toString()).slice(-4_000);
      };
      child.stdout?.on("data", keep);
      child.stderr?.on("data", keep);
      let exit: string | undefined;
      child.once("exit", (code, signal) => {
        exit = `it exited (${code ?? signal})`;
      });
      child.once("error", (error) => {
        exit = error.message;
      });
      try {
        const ping = async () => (await command(port, "PING")) === "PONG";
        await waitFor(`${program} on port ${port}`, ping, START_TIMEOUT_MS, () => exit);
        return { host: HOST, port };
      } catch (error) {
        child.kill("SIGKILL");
        if (!/already in use/i.test(output) || attempt >= 5) {
          throw new Error(
            `${program} ${args.join(" ")} did not start: ${(error as Error).message}\n${output}`,
          );
        }
      }
    }
  }
}

/** A loopback port free now, below 55000 and with port + 10000 (a cluster node's bus port) free too. */
async function freePort(reserved: ReadonlySet<number>): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await bindFree(0);
    if (port < 55_000 && !reserved.has(port) && !reserved.has(port + 10_000)) {
      if ((await bindFree(port + 10_000).catch(() => null)) !== null) return port;
    }
  }
  throw new Error("no free loopback port pair (P, P + 10000) below 55000");
}

function bindFree(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, HOST, () => {
      const bound = (server.address() as { port: number }).port;
      server.close(() => resolve(bound));
    });
  });
}

export function run(program: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(program, args, { timeout: START_TIMEOUT_MS }, (error, stdout, stderr) => {
      if (error)
        reject(new Error(`${program} ${args.join(" ")} failed: ${error.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

function requireBinaries(): void {
  for (const binary of ["redis-server", "redis-cli"]) {
    if (!onPath(binary)) {
      throw new Error(
        `${binary} is not on PATH: install it (Debian: apt-get install redis-server redis-tools)`,
      );
    }
  }
}

function onPath(binary: string): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, binary), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function liveProcesses(): Set<ChildProcess> {
  const registry = globalThis as { [key: symbol]: Set<ChildProcess> | undefined };
  const key = Symbol.for("tq.test.redis-processes");
  let children = registry[key];
  if (children === undefined) {
    const created = new Set<ChildProcess>();
    process.once("exit", () => {
      for (const child of created) child.kill("SIGKILL");
    });
    registry[key] = created;
    children = created;
  }
  return children;
}
