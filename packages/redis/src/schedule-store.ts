import type {
  LeaseAttempt,
  Logger,
  RecordRunOutcome,
  ScheduleEntryState,
  ScheduleSnapshot,
  ScheduleStateUpdate,
  ScheduleStore,
  StoredBeatEntry,
} from "@tq/core";
import { noopLogger, redactUrl, TqError } from "@tq/core";
import type { ClusterOptions, RedisOptions } from "ioredis";
import { LuaScript } from "./backend-scripts.js";
import { closeClient, createRedisClient, ensureConnected, type RedisClient } from "./connection.js";
import { redisCommand } from "./redis-command.js";
import {
  ACQUIRE_LEASE_LUA,
  DELETE_ENTRY_LUA,
  RECORD_RUNS_LUA,
  RELEASE_LEASE_LUA,
  RENEW_LEASE_LUA,
} from "./schedule-store-scripts.js";
import { parseRedisUrl } from "./url.js";

const acquireLease = new LuaScript(ACQUIRE_LEASE_LUA);
const renewLease = new LuaScript(RENEW_LEASE_LUA);
const releaseLease = new LuaScript(RELEASE_LEASE_LUA);
const recordRuns = new LuaScript(RECORD_RUNS_LUA);
const deleteEntry = new LuaScript(DELETE_ENTRY_LUA);

/** Options of {@link RedisScheduleStore}. */
export interface RedisScheduleStoreOptions {
  /** `redis://`, `rediss://`, `redis+sentinel://` or `redis+cluster://` URL. Ignored with `client`. @default "redis://127.0.0.1:6379/0" */
  url?: string;
  /** A client of yours to use instead; shared, never closed by the store. */
  client?: RedisClient;
  /**
   * Key prefix: the keys are `{<prefix>}:lease`, `:last`, `:runs`, `:entries` and `:version`, in one
   * hash slot (Cluster). Beats of one app must share it, apps sharing a server must not.
   * @default "tq:beat:<namespace>"
   */
  keyPrefix?: string;
  /** Usually the app's name (beat passes it). @default "tq" */
  namespace?: string;
  /** Receives connection problems. @default noopLogger */
  logger?: Logger;
  /** Extra ioredis options for the client opened from `url`. */
  redisOptions?: RedisOptions;
  /** Extra ioredis Cluster options for a `redis+cluster://` URL. */
  clusterOptions?: ClusterOptions;
}

/**
 * `@tq/beat`'s schedule store on Redis (`tq beat --schedule-store redis://…`): last-run times and
 * run counts in two hashes, run-time entries in a third, and the lease of the beat that sends as a
 * key set with `SET NX PX` and a random token. Renewal, release and every recorded run are scripts
 * that first compare the token, so a beat whose lease expired (a long pause, a partition) can neither
 * extend it nor record a run after another beat took over. The lease's TTL runs on the Redis
 * server's clock, so the beats' clocks need not agree.
 */
export class RedisScheduleStore implements ScheduleStore {
  readonly description: string;
  readonly #client: RedisClient;
  readonly #ownsClient: boolean;
  readonly #keys: { lease: string; last: string; runs: string; entries: string; version: string };

  constructor(options: RedisScheduleStoreOptions = {}) {
    const prefix = options.keyPrefix ?? `tq:beat:${options.namespace ?? "tq"}`;
    if (typeof prefix !== "string" || prefix === "")
      throw configError("keyPrefix must be a non-empty string");
    const tag = `{${prefix}}`;
    this.#keys = {
      lease: `${tag}:lease`,
      last: `${tag}:last`,
      runs: `${tag}:runs`,
      entries: `${tag}:entries`,
      version: `${tag}:version`,
    };
    const url = options.url ?? "redis://127.0.0.1:6379/0";
    this.#ownsClient = options.client === undefined;
    this.#client =
      options.client ??
      createRedisClient(parseRedisUrl(url), {
        ...(options.redisOptions ? { redisOptions: options.redisOptions } : {}),
        ...(options.clusterOptions ? { clusterOptions: options.clusterOptions } : {}),
        connectionName: "tq-beat",
      });
    this.description = `${options.client ? "redis (client given)" : redactUrl(url)} ${tag}`;
    if (this.#ownsClient) {
      const logger = options.logger ?? noopLogger;
      let reported = false;
      this.#client.on("error", (error: unknown) => {
        if (!reported) logger.warn("Redis schedule store connection error; reconnecting", { error });
        reported = true;
      });
      this.#client.on("ready", () => {
        reported = false;
      });
    }
  }

  async connect(): Promise<void> {
    await ensureConnected(this.#client, "redis");
  }

  async load(): Promise<ScheduleSnapshot> {
    const k = this.#keys;
    const [last, runs, entries, version] = await redisCommand("read the beat schedule", () =>
      Promise.all([
        this.#client.hgetall(k.last),
        this.#client.hgetall(k.runs),
        this.#client.hgetall(k.entries),
        this.#client.get(k.version),
      ]),
    );
    const states: Record<string, ScheduleEntryState> = {};
    for (const [name, value] of Object.entries(last)) {
      states[name] = { lastRunAt: Number(value), totalRunCount: Number(runs[name] ?? 0) };
    }
    const parsed: Record<string, StoredBeatEntry> = {};
    for (const [name, json] of Object.entries(entries)) {
      try {
        parsed[name] = JSON.parse(json) as StoredBeatEntry;
      } catch {
        // Beat checks every entry and logs the ones it cannot use; an unparsable one is one of those.
        parsed[name] = { task: "", schedule: json };
      }
    }
    return { states, entries: parsed, entriesVersion: version ?? "0" };
  }

  async entriesVersion(): Promise<string> {
    return (
      (await redisCommand("read the beat entries' version", () => this.#client.get(this.#keys.version))) ??
      "0"
    );
  }

  async setEntry(name: string, entry: StoredBeatEntry): Promise<void> {
    const k = this.#keys;
    await redisCommand("add a beat entry", () =>
      this.#client.multi().hset(k.entries, name, JSON.stringify(entry)).incr(k.version).exec(),
    );
  }

  async deleteEntry(name: string): Promise<boolean> {
    const k = this.#keys;
    const existed = await redisCommand("remove a beat entry", () =>
      deleteEntry.run(this.#client, [k.entries, k.last, k.runs, k.version], [name]),
    );
    return existed === 1;
  }

  async recordRuns(updates: readonly ScheduleStateUpdate[], leaseToken: string): Promise<RecordRunOutcome[]> {
    if (updates.length === 0) return [];
    const k = this.#keys;
    const args = [leaseToken];
    for (const update of updates) {
      args.push(
        update.name,
        update.expectedLastRunAt === null ? "" : String(update.expectedLastRunAt),
        String(update.lastRunAt),
        String(update.runCountDelta),
      );
    }
    const reply = (await redisCommand("record beat runs", () =>
      recordRuns.run(this.#client, [k.lease, k.last, k.runs], args),
    )) as number[];
    if (reply[0] === -1) return updates.map(() => "not-leader");
    return reply.map((flag) => (flag === 1 ? "recorded" : "conflict"));
  }

  async acquireLease(token: string, ttlMs: number): Promise<LeaseAttempt> {
    const [held, remaining] = (await redisCommand("take the beat lease", () =>
      acquireLease.run(this.#client, [this.#keys.lease], [token, String(Math.ceil(ttlMs))]),
    )) as [number, number];
    return { acquired: held === 1, retryInMs: held === 1 ? 0 : Math.max(0, remaining) };
  }

  async renewLease(token: string, ttlMs: number): Promise<boolean> {
    const renewed = await redisCommand("renew the beat lease", () =>
      renewLease.run(this.#client, [this.#keys.lease], [token, String(Math.ceil(ttlMs))]),
    );
    return renewed === 1;
  }

  async releaseLease(token: string): Promise<void> {
    await redisCommand("release the beat lease", () =>
      releaseLease.run(this.#client, [this.#keys.lease], [token]),
    );
  }

  async close(): Promise<void> {
    if (this.#ownsClient) await closeClient(this.#client);
  }
}

/** Creates a {@link RedisScheduleStore}; no I/O until it is used. */
export function redisScheduleStore(options: RedisScheduleStoreOptions = {}): RedisScheduleStore {
  return new RedisScheduleStore(options);
}

function configError(message: string): TqError {
  return new TqError("TQ_CONFIG", message, { component: "redis" });
}
