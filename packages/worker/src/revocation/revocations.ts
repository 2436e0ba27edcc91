import { type Logger, TaskRevokedError } from "@tq/core";
import type { Job } from "../job.js";
import { LimitedSet, type LimitedSetOptions } from "./limited-set.js";
import { StateDb, stateDbPath } from "./state-db.js";

/** What {@link Revocations} needs from its worker to act on the jobs it holds. */
export interface RevocationHost {
  /** Removes and returns the waiting and ETA-held jobs `match` picks. */
  takePending(match: (job: Job) => boolean): Job[];
  /** The jobs running now. */
  running(): Iterable<Job>;
  /** Stores REVOKED for a job that never started and acks it (the worker tracks the work). */
  discard(job: Job): void;
}

/** Options of {@link Revocations}. */
export interface RevocationsOptions extends LimitedSetOptions {
  /** The worker's node name, for `%n`/`%h` in the state file path and the file's content. */
  hostname: string;
  logger: Logger;
  /** State file path (Celery's `--statedb`), or null to keep revoked ids in memory only. */
  stateDb: string | null;
  /** Delay that gathers changes into one write of the state file, in ms. @default 500 */
  stateDbDebounceMs?: number;
}

/** What a revoke did on this worker. */
export interface RevokeOutcome {
  /** Jobs that were waiting or held for their ETA here and were revoked at once. */
  discarded: number;
  /** Ids of running tasks that were terminated. */
  terminated: string[];
}

/**
 * A worker's revoked task ids (Celery's `worker_state.revoked`): a {@link LimitedSet} of 50,000 ids
 * kept 3 hours, saved to the state file when there is one. A revoke drops the jobs of those ids that
 * wait here at once (freeing their prefetch slots) and, with `terminate`, aborts running ones; a job
 * that arrives later is checked at arrival and again right before it runs.
 */
export class Revocations {
  readonly #set: LimitedSet;
  readonly #logger: Logger;
  readonly #db: StateDb | undefined;
  #host: RevocationHost | undefined;

  constructor(options: RevocationsOptions) {
    this.#set = new LimitedSet(options);
    this.#logger = options.logger;
    if (options.stateDb !== null) {
      const file = stateDbPath(options.stateDb, options.hostname);
      this.#db = new StateDb(file, options.hostname, options.logger, {
        ...(options.stateDbDebounceMs === undefined ? {} : { debounceMs: options.stateDbDebounceMs }),
      });
      this.#db.track(() => this.#set.entries());
    }
  }

  /** The state file's absolute path, or undefined without one. */
  get stateDbPath(): string | undefined {
    return this.#db?.path;
  }

  /** Revoked ids remembered now. */
  get size(): number {
    return this.#set.size;
  }

  /** Reads the state file, if any (at start); throws `TQ_CONFIG` when it is not a tq state file. */
  async load(): Promise<void> {
    if (!this.#db) return;
    const entries = await this.#db.load();
    this.#set.load(entries);
    // Expired ids are dropped from the file too, and a path that cannot be written fails the start.
    await this.#db.writeNow();
    this.#logger.info("revoked task ids loaded from the state file", {
      "tq.statedb": this.#db.path,
      "tq.revoked": this.#set.size,
    });
  }

  /** Connects the worker whose jobs a revoke acts on. */
  attach(host: RevocationHost): void {
    this.#host = host;
  }

  /** True when the task id is revoked here. */
  has(taskId: string): boolean {
    return this.#set.has(taskId);
  }

  /** The revoked ids, oldest first (Celery's `inspect revoked`). */
  ids(): string[] {
    return this.#set.entries().map(([id]) => id);
  }

  /**
   * Revokes task ids (Celery's `revoke` control command): remembers them, revokes the jobs of those ids
   * waiting here, and with `terminate` aborts the running ones.
   */
  revoke(
    taskIds: readonly string[],
    options: { terminate?: boolean; signal?: string | null } = {},
  ): RevokeOutcome {
    const ids = new Set(taskIds);
    for (const id of ids) this.#set.add(id);
    this.#db?.changed();
    this.#logger.info(`tasks flagged as revoked: ${[...ids].join(", ")}`, { "tq.revoked": ids.size });
    const host = this.#host;
    if (!host) return { discarded: 0, terminated: [] };
    const pending = host.takePending((job) => ids.has(job.message.id));
    for (const job of pending) host.discard(job);
    const terminated: string[] = [];
    if (options.terminate) {
      for (const job of host.running()) {
        if (!ids.has(job.message.id) || job.aborted) continue;
        this.#logger.info(
          `terminating task ${job.message.id} (${options.signal ?? "SIGTERM"})`,
          job.attributes(),
        );
        job.abort(new TaskRevokedError(job.message.id, { excMessage: ["terminated"] }));
        terminated.push(job.message.id);
      }
    }
    return { discarded: pending.length, terminated };
  }

  /** Writes pending state-file changes (the worker's stop). */
  async flush(): Promise<void> {
    await this.#db?.flush();
  }
}
