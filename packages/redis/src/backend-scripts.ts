import { createHash } from "node:crypto";
import { Command } from "ioredis";
import type { RedisClient } from "./connection.js";

/**
 * How a write expires, as script arguments: `EX <s>` for whole seconds (Celery's SETEX), `PX <ms>`
 * otherwise, or no TTL at all.
 */
export type ExpiryArgs = readonly ["EX" | "PX" | "", string];

/** Turns an expiry in ms (null = never) into {@link ExpiryArgs}. */
export function expiryArgs(expiresMs: number | null): ExpiryArgs {
  if (expiresMs === null) return ["", ""];
  const ms = Math.ceil(expiresMs);
  return ms % 1000 === 0 ? ["EX", String(ms / 1000)] : ["PX", String(ms)];
}

/**
 * Stores task state documents and notifies waiters, each unless a SUCCESS is already stored under its
 * key. KEYS: `celery-task-meta-<id>` keys. ARGV: for each key, its document, expiry mode and expiry
 * amount. Returns, per key, 1 when stored and 0 when the SUCCESS was kept.
 *
 * Atomic per document because Celery's GET-then-MULTI leaves a window in which two writers (a late
 * STARTED from a slow worker and the SUCCESS from another) both read "not SUCCESS" and the later write
 * wins; in one script nothing runs between the read and the write. The PUBLISH goes on the key's own
 * name, which is the channel Celery clients subscribe to. Several documents per call because a busy
 * worker finishes many tasks per event-loop turn, and one round trip for all of them is what keeps
 * result writes from costing a round trip per task (see {@link StoreBatcher}).
 */
export const STORE_RESULTS_LUA = `
local out = {}
for i = 1, #KEYS do
  local key = KEYS[i]
  local document, mode, amount = ARGV[3 * i - 2], ARGV[3 * i - 1], ARGV[3 * i]
  local keep = false
  local current = redis.call('GET', key)
  if current then
    local status = string.match(current, '^{%s*"status"%s*:%s*"([^"\\\\]*)"')
    if status == nil then
      local ok, doc = pcall(cjson.decode, current)
      if ok and type(doc) == 'table' then status = doc['status'] end
    end
    keep = status == 'SUCCESS'
  end
  if keep then
    out[i] = 0
  else
    if mode == 'EX' then
      redis.call('SETEX', key, amount, document)
    elseif mode == 'PX' then
      redis.call('PSETEX', key, amount, document)
    else
      redis.call('SET', key, document)
    end
    redis.call('PUBLISH', key, document)
    out[i] = 1
  end
end
return out
`;

/**
 * Celery's `KeyValueStoreBackend.set`: SETEX (or SET) plus PUBLISH on the key name, used for saved
 * groups and chord sizes. KEYS: the key. ARGV: value, expiry mode, expiry amount.
 *
 * One script rather than MULTI only to keep it to one round trip with the same expiry handling as
 * {@link STORE_RESULT_LUA}; there is no read, so atomicity is not what matters here.
 */
export const SET_AND_PUBLISH_LUA = `
if ARGV[2] == 'EX' then
  redis.call('SETEX', KEYS[1], ARGV[3], ARGV[1])
elseif ARGV[2] == 'PX' then
  redis.call('PSETEX', KEYS[1], ARGV[3], ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
redis.call('PUBLISH', KEYS[1], ARGV[1])
return 1
`;

/**
 * Celery's `on_chord_part_return` pipeline (add the part, count, GET .t, GET .s, EXPIRE all three),
 * plus the completion decision and, when complete, the parts.
 * KEYS: `.j`, `.t`, `.s`. ARGV: member `[1, task_id, state, result]`, header index, "1" for the
 * ordered ZSET or "0" for the LIST, expiry mode, expiry amount.
 * Returns `{complete (0|1), count}` or, when complete, `{1, count, parts}` where parts are
 * `member, score, …` (ZSET) or `member, …` (LIST).
 *
 * Atomic so that exactly one caller sees the chord complete. Celery's pipeline is not a
 * transaction: two workers finishing the last parts together can both read count == size and both
 * send the body. Here the count is read in the same script that added the part, and "complete" also
 * needs this call to have added a new part, so a redelivered member reported again never completes
 * the chord a second time. In the ZSET the score is the header index, and a member already at that
 * index means the same header task reported again (its result may differ byte-wise, e.g. a new
 * timestamp), so it is not added. The LIST has no index: a part counts as a repeat only when its
 * member is byte-identical (LPOS).
 */
export const ADD_CHORD_PART_LUA = `
local added = 0
local count
if ARGV[3] == '1' then
  if redis.call('ZCOUNT', KEYS[1], ARGV[2], ARGV[2]) == 0 then
    added = redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
  end
  count = redis.call('ZCARD', KEYS[1])
else
  if not redis.call('LPOS', KEYS[1], ARGV[1]) then
    redis.call('RPUSH', KEYS[1], ARGV[1])
    added = 1
  end
  count = redis.call('LLEN', KEYS[1])
end
local extra = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
local size = tonumber(redis.call('GET', KEYS[3]) or '')
if ARGV[4] == 'EX' then
  for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[5]) end
elseif ARGV[4] == 'PX' then
  for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[5]) end
end
if added == 1 and size ~= nil and count == size + extra then
  if ARGV[3] == '1' then
    return {1, count, redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')}
  end
  return {1, count, redis.call('LRANGE', KEYS[1], 0, -1)}
end
return {0, count}
`;

/**
 * A Lua script run by EVALSHA, falling back to EVAL when the server does not have it cached (first
 * use, a restart, SCRIPT FLUSH, another cluster node). Unlike `defineCommand`, it adds nothing to a
 * client the user passed in. Replies come back as Buffers, so documents are decoded from bytes.
 */
export class LuaScript {
  readonly #source: string;
  readonly #sha: string;

  constructor(source: string) {
    this.#source = source;
    this.#sha = createHash("sha1").update(source).digest("hex");
  }

  /** Runs the script; rejects with ioredis's error. */
  async run(
    client: RedisClient,
    keys: readonly string[],
    args: readonly (string | Buffer)[],
  ): Promise<unknown> {
    try {
      return await send(client, "evalsha", [this.#sha, keys.length, ...keys, ...args]);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
      return send(client, "eval", [this.#source, keys.length, ...keys, ...args]);
    }
  }
}

/**
 * Sends a command with Buffer replies. Not `callBuffer("EVALSHA", …)`: with ioredis' auto-pipelining
 * that sends the script's sha as the command name ("ERR unknown command"), and results were lost.
 */
function send(client: RedisClient, name: string, args: (string | number | Buffer)[]): Promise<unknown> {
  const command = new Command(name, args, { replyEncoding: null });
  client.sendCommand(command);
  return command.promise;
}
