/**
 * Forgets held messages (ack, and reject: the worker dead-letters on its own): kombu's
 * `ZREM unacked_index` + `HDEL unacked`, for one tag or a batch.
 *
 * Why atomic: a consumer dying between the two commands would leave a hash entry with no index
 * entry, which no restorer ever looks at.
 *
 * KEYS[1] unacked, KEYS[2] unacked_index; ARGV the tags.
 */
export const FORGET_SCRIPT = `
redis.call('ZREM', KEYS[2], unpack(ARGV))
return redis.call('HDEL', KEYS[1], unpack(ARGV))
`;

/**
 * Publishes a message: LPUSH to its list, then PUBLISH on the queue's wake channel so idle tq
 * consumers fetch at once instead of at their next poll.
 *
 * One script so that a publish is one round trip and a consumer woken by the PUBLISH always finds
 * the message (Lua cannot block, so consumers are woken rather than parked in BRPOP).
 *
 * KEYS[1] the list; ARGV[1] the envelope, ARGV[2] the wake channel.
 */
export const PUBLISH_SCRIPT = `
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[2], '')
return 1
`;

/**
 * Releases the restore mutex only if it is still ours: it may have expired and been taken by another
 * restorer meanwhile. KEYS[1] the mutex; ARGV[1] our token.
 */
export const RELEASE_MUTEX_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;
