// A worker under test runs in its own process so its CPU and memory are its own. It talks back with
// one JSON object per stdout line ({"type": "ready"}, {"type": "done", "firstMs", "lastMs"}); every
// other stdout line (banners) is ignored and stderr is kept to explain a failure.
import { spawn } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { createInterface } from "node:readline";

const live = new Set();
// A bench that throws must not leave a worker consuming from Redis behind it.
process.on("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

/** A spawned worker process and the JSON messages it printed. */
export class WorkerChild {
  #child;
  #name;
  #messages = [];
  #waiters = [];
  #stderr = "";
  #exit = null;

  /** Starts `command args` with extra environment variables. */
  constructor(name, command, args, { env = {}, cwd } = {}) {
    this.#name = name;
    this.#child = spawn(command, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    live.add(this.#child);
    createInterface({ input: this.#child.stdout }).on("line", (line) => this.#onLine(line));
    this.#child.stderr.on("data", (chunk) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-8_000);
    });
    this.#child.on("exit", (code, signal) => {
      live.delete(this.#child);
      this.#exit = { code, signal };
      for (const waiter of this.#waiters.splice(0)) waiter.reject(this.#exitError());
    });
  }

  /** The process id. */
  get pid() {
    return this.#child.pid;
  }

  /** Resolves with the first message of `type` (already received or still to come). */
  waitFor(type, timeoutMs) {
    const index = this.#messages.findIndex((message) => message.type === type);
    if (index >= 0) return Promise.resolve(this.#messages.splice(index, 1)[0]);
    if (this.#exit) return Promise.reject(this.#exitError());
    return new Promise((resolve, reject) => {
      const waiter = { type, resolve, reject };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`${this.#name}: no "${type}" within ${timeoutMs} ms\n${this.#stderr}`));
      }, timeoutMs);
      waiter.resolve = (message) => {
        clearTimeout(timer);
        resolve(message);
      };
      waiter.reject = (error) => {
        clearTimeout(timer);
        reject(error);
      };
      this.#waiters.push(waiter);
    });
  }

  /** Peak resident set (VmHWM) of the process and its descendants, in MiB; null off Linux. */
  async peakRssMb() {
    return peakRssMb(this.#child.pid);
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 5_000) {
    if (this.#exit) return;
    const exited = new Promise((resolve) => this.#child.once("exit", resolve));
    this.#child.kill("SIGTERM");
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  }

  #onLine(line) {
    if (!line.startsWith("{")) return;
    let message;
    try {
      message = JSON.parse(line);
    } catch {
      return;
    }
    const index = this.#waiters.findIndex((waiter) => waiter.type === message.type);
    if (index >= 0) this.#waiters.splice(index, 1)[0].resolve(message);
    else this.#messages.push(message);
  }

  #exitError() {
    const { code, signal } = this.#exit;
    return new Error(`${this.#name} exited (code ${code}, signal ${signal})\n${this.#stderr}`);
  }
}

/** Sum of VmHWM over `pid` and its descendants (a prefork pool's children count), in MiB. */
export async function peakRssMb(pid) {
  let entries;
  try {
    entries = await readdir("/proc");
  } catch {
    return null;
  }
  const parents = new Map();
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => null);
    // The command name may contain spaces and parentheses; fields after the last ")" are fixed.
    if (stat) parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    for (const [child, parent] of parents) if (parent === tree[i]) tree.push(child);
  }
  let totalKb = 0;
  for (const member of tree) {
    const status = await readFile(`/proc/${member}/status`, "utf8").catch(() => "");
    const match = /^VmHWM:\s+(\d+) kB/m.exec(status);
    if (match) totalKb += Number(match[1]);
  }
  return totalKb / 1024;
}

/**
 * Starts a Node worker script. With TQ_BENCH_CPU_PROF=<dir> it runs under `--cpu-prof`, writing a
 * .cpuprofile into <dir> when it exits (the worker scripts exit cleanly on SIGTERM for this).
 */
export function spawnNodeWorker(name, scriptUrl, env) {
  const profileDir = process.env.TQ_BENCH_CPU_PROF;
  const nodeArgs = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
  return new WorkerChild(name, process.execPath, [...nodeArgs, new URL(scriptUrl).pathname], { env });
}
