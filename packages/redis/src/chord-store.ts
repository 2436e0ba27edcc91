import type { ChordPart, ChordProgress } from "@tq/core";
import { TqError } from "@tq/core";
import { decodeJson, encodeJson, serializationError } from "./backend-codec.js";
import { ADD_CHORD_PART_LUA, expiryArgs, LuaScript, SET_AND_PUBLISH_LUA } from "./backend-scripts.js";
import type { RedisClient } from "./connection.js";

/**
 * Celery's result key names (`KeyValueStoreBackend.get_key_for_task/_group`), one function per key.
 * On a standalone server (or Sentinel) they are exactly Celery's, so Python reads them. In cluster
 * mode a chord's `.s`/`.j`/`.t` keys wrap the group id in a hash tag (`celery-taskset-meta-{<gid>}.j`)
 * so the script that touches all three runs on one slot; Celery has no cluster result backend, so
 * nothing is lost there. Single-key names stay Celery's in both modes.
 */
export class BackendKeys {
  readonly #prefix: string;
  readonly #cluster: boolean;

  constructor(prefix: string, cluster: boolean) {
    this.#prefix = prefix;
    this.#cluster = cluster;
  }

  /** `celery-task-meta-<id>`: a task's state document; also its pub/sub channel. */
  task(taskId: string): string {
    return `${this.#prefix}celery-task-meta-${taskId}`;
  }

  /** `celery-taskset-meta-<gid>`: a saved group. */
  group(groupId: string): string {
    return `${this.#prefix}celery-taskset-meta-${groupId}`;
  }

  /** `celery-taskset-meta-<gid>.s`: a chord's header size. */
  chordSize(groupId: string): string {
    return this.#chordKey(groupId, ".s");
  }

  /** `celery-taskset-meta-<gid>.j`: a chord's finished parts (ZSET, or LIST when unordered). */
  chordJoin(groupId: string): string {
    return this.#chordKey(groupId, ".j");
  }

  /** `celery-taskset-meta-<gid>.t`: how many parts Celery's `add_to_chord` added to the header. */
  chordExtra(groupId: string): string {
    return this.#chordKey(groupId, ".t");
  }

  #chordKey(groupId: string, suffix: string): string {
    const id = this.#cluster ? `{${groupId}}` : groupId;
    return `${this.#prefix}celery-taskset-meta-${id}${suffix}`;
  }
}

const setAndPublish = new LuaScript(SET_AND_PUBLISH_LUA);
const addChordPartScript = new LuaScript(ADD_CHORD_PART_LUA);

/** Saved groups and chord counters, in Celery's layout (celery-protocol.md §2.4). */
export class ChordStore {
  readonly #client: RedisClient;
  readonly #keys: BackendKeys;
  readonly #expiresMs: number | null;
  readonly #ordered: boolean;

  constructor(client: RedisClient, keys: BackendKeys, expiresMs: number | null, ordered: boolean) {
    this.#client = client;
    this.#keys = keys;
    this.#expiresMs = expiresMs;
    this.#ordered = ordered;
  }

  /** `GroupResult.save()`: `{"result": [[gid, null], [[[tid, null], null], …]]}`, SETEX and PUBLISH. */
  async saveGroup(groupId: string, taskIds: readonly string[]): Promise<void> {
    const doc = { result: [[groupId, null], taskIds.map((taskId) => [[taskId, null], null])] };
    await setAndPublish.run(
      this.#client,
      [this.#keys.group(groupId)],
      [encodeJson(doc), ...expiryArgs(this.#expiresMs)],
    );
  }

  /** The member ids of a saved group (Celery's or tq's), or null. */
  async getGroup(groupId: string): Promise<string[] | null> {
    const data = await this.#client.getBuffer(this.#keys.group(groupId));
    if (data === null) return null;
    const doc = decodeJson(data, `saved group ${groupId}`) as { result?: unknown } | null;
    const members = Array.isArray(doc?.result) ? doc.result[1] : undefined;
    if (!Array.isArray(members)) throw serializationError(`saved group ${groupId} has no member list`);
    return members.map((member) => {
      // A member is an AsyncResult tuple `[[id, parent], null]`; a nested group is `[[gid, …], [...]]`.
      const id = Array.isArray(member) && Array.isArray(member[0]) ? member[0][0] : undefined;
      if (typeof id !== "string") throw serializationError(`saved group ${groupId} has a malformed member`);
      return id;
    });
  }

  /** Deletes a saved group. */
  async forgetGroup(groupId: string): Promise<void> {
    await this.#client.del(this.#keys.group(groupId));
  }

  /** Celery's `set_chord_size`: `.s` = size, with the backend's expiry (SETEX and PUBLISH, as `set`). */
  async setChordSize(groupId: string, size: number): Promise<void> {
    if (!Number.isInteger(size) || size < 0) {
      throw new TqError("TQ_CONFIG", `chord size must be an integer ≥ 0, got ${size}`, {
        component: "redis",
      });
    }
    await setAndPublish.run(
      this.#client,
      [this.#keys.chordSize(groupId)],
      [String(size), ...expiryArgs(this.#expiresMs)],
    );
  }

  /** Records a finished header part in one script; exactly one caller sees `complete`. */
  async addChordPart(groupId: string, part: ChordPart): Promise<ChordProgress> {
    checkPart(part);
    const member = encodeJson([1, part.taskId, part.status, part.result ?? null]);
    const keys = [
      this.#keys.chordJoin(groupId),
      this.#keys.chordExtra(groupId),
      this.#keys.chordSize(groupId),
    ];
    const reply = (await addChordPartScript.run(this.#client, keys, [
      member,
      String(part.index),
      this.#ordered ? "1" : "0",
      ...expiryArgs(this.#expiresMs),
    ])) as [number, number, Buffer[]?];
    const [complete, received, raw] = reply;
    if (complete !== 1 || raw === undefined) return { complete: false, received, parts: [] };
    return { complete: true, received, parts: this.#decodeParts(groupId, raw) };
  }

  /** Deletes `.j`, `.t` and `.s` in one command (one slot in cluster mode). */
  async clearChord(groupId: string): Promise<void> {
    const keys = this.#keys;
    await this.#client.del(keys.chordJoin(groupId), keys.chordExtra(groupId), keys.chordSize(groupId));
  }

  #decodeParts(groupId: string, raw: Buffer[]): ChordPart[] {
    const parts: ChordPart[] = [];
    const step = this.#ordered ? 2 : 1;
    for (let i = 0; i < raw.length; i += step) {
      // ZSET: member, score (the header index); LIST: member only, in completion order.
      const index = this.#ordered ? Number((raw[i + 1] as Buffer).toString()) : i;
      parts.push(decodePart(groupId, raw[i] as Buffer, index));
    }
    return parts;
  }
}

// A member is `[1, task_id, state, result]` (Celery's `encode([1, tid, state, result])`).
function decodePart(groupId: string, data: Buffer, index: number): ChordPart {
  const value = decodeJson(data, `a part of chord ${groupId}`);
  if (
    !Array.isArray(value) ||
    value.length !== 4 ||
    typeof value[1] !== "string" ||
    typeof value[2] !== "string"
  ) {
    throw serializationError(`a part of chord ${groupId} is not [1, task_id, state, result]`);
  }
  return { index, taskId: value[1], status: value[2], result: value[3] };
}

function checkPart(part: ChordPart): void {
  if (!Number.isInteger(part.index) || part.index < 0) {
    throw new TqError("TQ_CONFIG", `a chord part's index must be an integer ≥ 0, got ${part.index}`, {
      component: "redis",
    });
  }
  if (typeof part.taskId !== "string" || typeof part.status !== "string") {
    throw new TqError("TQ_CONFIG", "a chord part needs a taskId and a status string", { component: "redis" });
  }
}
