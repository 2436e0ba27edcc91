/**
 * The beat schedule store's scripts. Each runs atomically on the server, so the lease check and the
 * writes it guards cannot be separated by another beat's commands. KEYS share one hash tag, so they
 * run on Redis Cluster too.
 */

/**
 * Takes the lease: SET NX PX, or PEXPIRE when the caller's token already holds it. KEYS: lease.
 * ARGV: token, TTL ms. Returns `{1, 0}` when held, else `{0, remaining ms}`.
 */
export const ACQUIRE_LEASE_LUA = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1, 0} end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, 0}
end
return {0, redis.call('PTTL', KEYS[1])}
`;

/** Extends the lease if the token holds it (compare-and-set). KEYS: lease. ARGV: token, TTL ms. */
export const RENEW_LEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

/** Deletes the lease if the token holds it (compare-and-delete). KEYS: lease. ARGV: token. */
export const RELEASE_LEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * Records runs while the token holds the lease. KEYS: lease, last-run hash, run-count hash.
 * ARGV: token, then per update: name, expected last run ('' for none), new last run, count delta.
 * Returns `{-1}` when the token does not hold the lease, else per update 1 (recorded) or 0 (the
 * stored last run was not the expected one).
 */
export const RECORD_RUNS_LUA = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {-1} end
local out = {}
for i = 2, #ARGV, 4 do
  local name, expected, value, delta = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  if (redis.call('HGET', KEYS[2], name) or '') == expected then
    redis.call('HSET', KEYS[2], name, value)
    if delta ~= 0 and redis.call('HINCRBY', KEYS[3], name, delta) < 0 then
      redis.call('HSET', KEYS[3], name, 0)
    end
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
`;

/**
 * Removes a run-time entry and its state, bumping the entries' version if it existed.
 * KEYS: entries hash, last-run hash, run-count hash, version. ARGV: name. Returns 1 if it existed.
 */
export const DELETE_ENTRY_LUA = `
local existed = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
if existed == 1 then redis.call('INCR', KEYS[4]) end
return existed
`;
