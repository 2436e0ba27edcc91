import type {
  ChordPart,
  ChordProgress,
  Logger,
  ResultBackend,
  StoreResultOptions,
  TaskMeta,
  WaitForResultOptions,
} from "@tq/core";
import { TqError } from "@tq/core";
import { decodeTaskMeta, encodeTaskMeta } from "./backend-codec.js";
import { checkExpiresMs, type RedisBackendOptions, resolveBackendOptions } from "./backend-options.js";
import { expiryArgs, LuaScript, STORE_RESULTS_LUA } from "./backend-scripts.js";
import { BackendKeys, ChordStore } from "./chord-store.js";
import {
  closeClient,
  createRedisClient,
  ensureConnected,
  isCluster,
  type RedisClient,
} from "./connection.js";
import { redisCommand } from "./redis-command.js";
import { ResultWaiters } from "./result-waiters.js";
import { StoreBatcher } from "./store-batcher.js";

const storeResults = new LuaScript(STORE_RESULTS_LUA);

/**
 * A {@link ResultBackend} on Redis in Celery's layout (celery-protocol.md §2): `celery-task-meta-<id>`
 * documents with Celery's fields and TTL, published on the key's own name, never overwriting a
 * SUCCESS; `celery-taskset-meta-<gid>` groups; chords with `.s`/`.j`/`.t` keys. Python Celery
 * clients and workers share it with tq.
 *
 * Each store, group and chord write is one script call (one round trip, atomic). `waitFor` is woken
 * by pub/sub on one shared subscriber connection and never polls; see {@link ResultWaiters} for how
 * messages published by a backend on another database of the same server are told apart.
 *
 * The constructor does no I/O. A client passed in is used as it is and never closed.
 */
export class RedisBackend implements ResultBackend {
  readonly #client: RedisClient;
  readonly #ownsClient: boolean;
  readonly #keys: BackendKeys;
  /** Coalesces writes of one event-loop turn (not on Cluster, whose keys may span slots). */
  readonly #batcher: StoreBatcher | undefined;
  readonly #chords: ChordStore;
  readonly #waiters: ResultWaiters;
  readonly #expiresMs: number | null;
  readonly #logger: Logger;
  #closed = false;

  constructor(options: RedisBackendOptions = {}) {
    const resolved = resolveBackendOptions(options);
    this.#logger = resolved.logger;
    this.#expiresMs = resolved.resultExpiresMs;
    this.#ownsClient = resolved.client === null;
    this.#client =
      resolved.client ??
      createRedisClient(resolved.url as NonNullable<typeof resolved.url>, {
        ...(resolved.redisOptions ? { redisOptions: resolved.redisOptions } : {}),
        ...(resolved.clusterOptions ? { clusterOptions: resolved.clusterOptions } : {}),
        connectionName: "tq-backend",
      });
    if (this.#ownsClient) reportErrors(this.#client, this.#logger, "result backend");
    this.#keys = new BackendKeys(resolved.keyPrefix, isCluster(this.#client));
    this.#batcher = isCluster(this.#client)
      ? undefined
      : new StoreBatcher(async (keys, args) => storedFlags(await storeResults.run(this.#client, keys, args)));
    this.#chords = new ChordStore(this.#client, this.#keys, this.#expiresMs, resolved.chordOrdered);
    this.#waiters = new ResultWaiters({
      openSubscriber: () => this.#openSubscriber(),
      channelOf: (taskId) => this.#keys.task(taskId),
      read: (taskId) => redisCommand("read a result", () => this.#client.getBuffer(this.#keys.task(taskId))),
      decode: decodeTaskMeta,
      logger: this.#logger,
    });
  }

  /** Connects the client (the subscriber connects on the first wait). Safe to call more than once. */
  async connect(options: { signal?: AbortSignal } = {}): Promise<void> {
    this.#assertOpen();
    const { signal } = options;
    if (signal?.aborted) throw abortedError(signal);
    const connected = ensureConnected(this.#client, "redis");
    if (!signal) return connected;
    // If the abort wins, the connection attempt goes on; its failure is reported by a later call.
    connected.catch(() => {});
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(abortedError(signal));
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      await Promise.race([connected, aborted]);
    } finally {
      signal.removeEventListener("abort", onAbort as () => void);
    }
  }

  /** Rejects waits in progress with `TQ_CLOSED`, closes the subscriber and, if it opened it, the client. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#waiters.close();
    if (this.#ownsClient) await closeClient(this.#client);
  }

  /**
   * Stores a state document (SETEX and PUBLISH in one script), unless a SUCCESS is stored; that is
   * kept and the write is logged at debug level.
   */
  async store(meta: TaskMeta, options: StoreResultOptions = {}): Promise<void> {
    this.#assertOpen();
    const expiresMs =
      options.expiresMs === undefined ? this.#expiresMs : checkExpiresMs(options.expiresMs, "expiresMs");
    const document = encodeTaskMeta(meta);
    const key = this.#keys.task(meta.task_id);
    const expiry = expiryArgs(expiresMs);
    const stored = await redisCommand("store a result", async () =>
      this.#batcher
        ? this.#batcher.store(key, document, expiry)
        : storedFlags(await storeResults.run(this.#client, [key], [document, ...expiry]))[0] === true,
    );
    if (!stored) {
      this.#logger.debug("kept the SUCCESS result, ignored a later state", {
        "tq.task_id": meta.task_id,
        "tq.state": meta.status,
      });
    }
  }

  /** The stored document, or null. */
  async get(taskId: string): Promise<TaskMeta | null> {
    this.#assertOpen();
    const data = await redisCommand("read a result", () => this.#client.getBuffer(this.#keys.task(taskId)));
    return data === null ? null : decodeTaskMeta(data, taskId);
  }

  /** Resolves once a ready document is stored, woken by pub/sub (see {@link ResultWaiters}). */
  async waitFor(taskId: string, options: WaitForResultOptions = {}): Promise<TaskMeta> {
    this.#assertOpen();
    return this.#waiters.wait(taskId, options);
  }

  /** Deletes the document. */
  async forget(taskId: string): Promise<void> {
    this.#assertOpen();
    await redisCommand("forget a result", () => this.#client.del(this.#keys.task(taskId)));
  }

  /** Saves a group as Celery's `GroupResult.save()` does, with the backend's expiry. */
  async saveGroup(groupId: string, taskIds: readonly string[]): Promise<void> {
    this.#assertOpen();
    await redisCommand("save a group", () => this.#chords.saveGroup(groupId, taskIds));
  }

  /** A saved group's member ids, or null. */
  async getGroup(groupId: string): Promise<string[] | null> {
    this.#assertOpen();
    return redisCommand("read a group", () => this.#chords.getGroup(groupId));
  }

  /** Deletes a saved group. */
  async forgetGroup(groupId: string): Promise<void> {
    this.#assertOpen();
    await redisCommand("forget a group", () => this.#chords.forgetGroup(groupId));
  }

  /** Sets the chord's `.s` key. Parts recorded before stay (Celery does not reset them either). */
  async setChordSize(groupId: string, size: number): Promise<void> {
    this.#assertOpen();
    await redisCommand("set a chord size", () => this.#chords.setChordSize(groupId, size));
  }

  /** Records a header part in one script; of concurrent and repeated calls exactly one sees `complete`. */
  async addChordPart(groupId: string, part: ChordPart): Promise<ChordProgress> {
    this.#assertOpen();
    return redisCommand("record a chord part", () => this.#chords.addChordPart(groupId, part));
  }

  /** Deletes the chord's `.j`, `.t` and `.s` keys. */
  async clearChord(groupId: string): Promise<void> {
    this.#assertOpen();
    await redisCommand("clear a chord", () => this.#chords.clearChord(groupId));
  }

  #openSubscriber(): RedisClient {
    // A duplicate keeps the client's server, credentials, TLS and database; pub/sub needs its own
    // connection because a subscribed connection takes no other commands.
    const subscriber = isCluster(this.#client)
      ? this.#client.duplicate()
      : this.#client.duplicate({ connectionName: "tq-backend-subscriber", lazyConnect: true });
    return subscriber;
  }

  #assertOpen(): void {
    if (this.#closed)
      throw new TqError("TQ_CLOSED", "the Redis result backend is closed", { component: "redis" });
  }
}

/** Creates a {@link RedisBackend}; no I/O until it is used or `connect()`ed. */
export function redisBackend(options: RedisBackendOptions = {}): RedisBackend {
  return new RedisBackend(options);
}

/**
 * Logs a client's connection errors once per outage: ioredis emits one per reconnect attempt, and
 * an unhandled "error" event would be printed to the console.
 */
function reportErrors(client: RedisClient, logger: Logger, role: string): void {
  let reported = false;
  client.on("error", (error: unknown) => {
    if (reported) return;
    reported = true;
    logger.warn(`Redis ${role} connection error; reconnecting`, { error });
  });
  client.on("ready", () => {
    reported = false;
  });
}

function abortedError(signal: AbortSignal): TqError {
  return new TqError("TQ_ABORTED", "connecting was aborted", { component: "redis", cause: signal.reason });
}

/** The store script's reply: per key, whether the document was written. */
function storedFlags(reply: unknown): boolean[] {
  return Array.isArray(reply) ? reply.map((flag) => Number(flag) !== 0) : [];
}
