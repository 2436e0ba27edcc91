import { randomUUID } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { type Logger, TqError } from "@tq/core";
import type { LimitedSetEntry } from "./limited-set.js";

/**
 * The state file's content (format 1), JSON:
 * `{"format": "tq-worker-state", "version": 1, "hostname": "celery@host", "savedAt": "<ISO date>",
 *   "revoked": [["<task id>", <expiry in ms since the Unix epoch>], …]}` — revoked ids oldest first.
 * Celery keeps the same data in a Python `shelve` file, which tq neither reads nor writes.
 */
export interface StateFile {
  format: "tq-worker-state";
  version: 1;
  /** The worker that wrote it (informational). */
  hostname: string;
  /** When it was written (informational). */
  savedAt: string;
  /** Revoked task ids and when each is forgotten. */
  revoked: [string, number][];
}

/** How long changes gather before one write: a burst of revokes costs one write. */
const DEFAULT_DEBOUNCE_MS = 500;

/**
 * Celery's `--statedb`: keeps a worker's revoked ids in a file so that they survive a restart. Read
 * once at start; written after changes (debounced) and at stop, each time whole to a temporary file
 * that is then renamed over the old one, so a crash mid-write never leaves a torn file.
 */
export class StateDb {
  /** The file's path. */
  readonly path: string;
  readonly #hostname: string;
  readonly #logger: Logger;
  readonly #debounceMs: number;
  #snapshot: (() => LimitedSetEntry[]) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();
  #dirty = false;

  constructor(file: string, hostname: string, logger: Logger, options: { debounceMs?: number } = {}) {
    this.path = path.resolve(file);
    this.#hostname = hostname;
    this.#logger = logger;
    this.#debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  }

  /**
   * Reads the saved revoked ids; none when the file does not exist yet. Throws `TQ_CONFIG` when the
   * file is not a tq state file (a Celery shelve file, a torn copy), rather than forget revokes silently.
   */
  async load(): Promise<LimitedSetEntry[]> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw new TqError("TQ_CONFIG", `cannot read the state file ${this.path}: ${(error as Error).message}`, {
        cause: error,
        component: "worker",
      });
    }
    return parseStateFile(text, this.path);
  }

  /** Tells the file where to read the current entries from; every {@link changed} saves them later. */
  track(snapshot: () => LimitedSetEntry[]): void {
    this.#snapshot = snapshot;
  }

  /** Marks the state changed: it is written within the debounce delay. */
  changed(): void {
    this.#dirty = true;
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#save();
    }, this.#debounceMs);
    // A pending write must not keep a stopped process alive; stop() flushes it.
    this.#timer.unref();
  }

  /**
   * Writes the state now and throws `TQ_CONFIG` when the file cannot be written (at start: a bad
   * `--statedb` path fails the start rather than every later save).
   */
  async writeNow(): Promise<void> {
    await this.#writing;
    if (!this.#snapshot) return;
    try {
      await this.#write(this.#snapshot());
      this.#dirty = false;
    } catch (error) {
      throw new TqError(
        "TQ_CONFIG",
        `cannot write the state file ${this.path}: ${(error as Error).message}`,
        {
          cause: error,
          component: "worker",
        },
      );
    }
  }

  /** Writes pending changes now and waits for every write under way (the worker's stop). */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#save();
  }

  // Writes are chained, so the last one renamed holds the latest state.
  #save(): Promise<void> {
    this.#writing = this.#writing.then(async () => {
      if (!this.#dirty || !this.#snapshot) return;
      this.#dirty = false;
      try {
        await this.#write(this.#snapshot());
      } catch (error) {
        this.#dirty = true;
        this.#logger.error("could not save the revoked task ids to the state file", {
          "tq.statedb": this.path,
          error,
        });
      }
    });
    return this.#writing;
  }

  async #write(entries: LimitedSetEntry[]): Promise<void> {
    const content: StateFile = {
      format: "tq-worker-state",
      version: 1,
      hostname: this.#hostname,
      savedAt: new Date().toISOString(),
      revoked: entries.map(([id, expiresAt]) => [id, expiresAt]),
    };
    await mkdir(path.dirname(this.path), { recursive: true });
    const temporary = `${this.path}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
    try {
      await writeFile(temporary, `${JSON.stringify(content)}\n`, { encoding: "utf8", mode: 0o600 });
      await rename(temporary, this.path);
    } catch (error) {
      await rm(temporary, { force: true }).catch(() => {});
      throw error;
    }
  }
}

/** Reads a state file's text; throws `TQ_CONFIG` naming the file and the problem. */
export function parseStateFile(text: string, file: string): LimitedSetEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw notAStateFile(file, "it is not JSON (a Celery shelve file cannot be read)", cause);
  }
  const state = parsed as Partial<StateFile> | null;
  if (typeof state !== "object" || state === null || state.format !== "tq-worker-state") {
    throw notAStateFile(file, 'it has no "format": "tq-worker-state"');
  }
  if (state.version !== 1) throw notAStateFile(file, `its version ${String(state.version)} is not 1`);
  if (!Array.isArray(state.revoked)) throw notAStateFile(file, '"revoked" is not a list');
  const entries: LimitedSetEntry[] = [];
  for (const entry of state.revoked as unknown[]) {
    if (
      !Array.isArray(entry) ||
      typeof entry[0] !== "string" ||
      typeof entry[1] !== "number" ||
      !Number.isFinite(entry[1])
    ) {
      throw notAStateFile(file, `"revoked" holds ${JSON.stringify(entry)}, not [task id, expiry ms]`);
    }
    entries.push([entry[0], entry[1]]);
  }
  return entries;
}

/**
 * Celery's node-name expansion of `--statedb` (`node_format`): `%n` the name before `@`, `%h` the
 * host after it, `%d` the host's domain, `%p` the whole node name, `%%` a percent sign; so workers of one
 * host can share a template such as `/var/run/tq/%n.state`.
 */
export function stateDbPath(template: string, nodeName: string): string {
  // As Celery's nodesplit: a name without "@" is a host, under the default name "celery".
  const at = nodeName.indexOf("@");
  const name = at === -1 ? "celery" : nodeName.slice(0, at);
  const host = at === -1 ? nodeName : nodeName.slice(at + 1);
  const domain = host.includes(".") ? host.slice(host.indexOf(".") + 1) : "";
  const keys: Record<string, string> = { n: name, h: host, d: domain, p: nodeName, "%": "%" };
  return template.replace(/%([nhdp%])/g, (_, key: string) => keys[key] ?? "");
}

function notAStateFile(file: string, why: string, cause?: unknown): TqError {
  return new TqError(
    "TQ_CONFIG",
    `${file} is not a tq worker state file: ${why}; remove it or choose another --statedb path`,
    { component: "worker", ...(cause === undefined ? {} : { cause }) },
  );
}
