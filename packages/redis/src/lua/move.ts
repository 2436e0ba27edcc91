/**
 * Puts a held message back into its queue: used by requeue, by close() for unsettled deliveries, and
 * by the restorer for messages whose holder stopped extending them.
 *
 * Why atomic: it is a compare-and-move. The message moves only if `unacked` still holds exactly the
 * value the caller read (and, for a restore, its score is still stale). Otherwise someone acked,
 * extended or restored it meanwhile, and moving it would duplicate it. kombu does the same with
 * WATCH/MULTI; a script needs no retry loop.
 *
 * KEYS[1] unacked, KEYS[2] unacked_index, KEYS[3..] the lists to push to (one for a message of the
 * default exchange; several when a named exchange's bindings route it to several queues).
 * ARGV[1] tag, ARGV[2] the expected hash value, ARGV[3] the highest score still considered stale
 * (`+inf` when staleness does not matter), ARGV[4] `front` (RPUSH: served next, as kombu's restore)
 * or `back` (LPUSH: as kombu's reject with requeue), ARGV[5] the payload to push (marked redelivered
 * by the caller, in JS).
 *
 * Returns 1 when moved, 0 when not.
 */
export const MOVE_SCRIPT = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
if ARGV[3] ~= '+inf' then
  local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
  if not score or tonumber(score) > tonumber(ARGV[3]) then return 0 end
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
local push = ARGV[4] == 'front' and 'RPUSH' or 'LPUSH'
for i = 3, #KEYS do redis.call(push, KEYS[i], ARGV[5]) end
return 1
`;

/**
 * Removes an `unacked_index` entry whose hash entry is gone, so the restorer does not read it forever.
 * Atomic so that it cannot remove the index entry of a message recorded again meanwhile.
 *
 * KEYS[1] unacked, KEYS[2] unacked_index; ARGV[1] tag. Returns 1 when removed.
 */
export const DROP_ORPHAN_SCRIPT = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
return redis.call('ZREM', KEYS[2], ARGV[1])
`;
