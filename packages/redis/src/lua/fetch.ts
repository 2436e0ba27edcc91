/**
 * Takes up to `want` messages from a consumer's lists and records them as held, in ONE script.
 *
 * Why atomic: kombu pops with BRPOP and writes `unacked`/`unacked_index` afterwards, so a worker that
 * dies between the two loses the message. Here the pop and the bookkeeping happen together: every
 * message is at every moment either in a list or in `unacked`, and a dead consumer's messages are
 * restored after the visibility timeout.
 *
 * KEYS[1] unacked hash, KEYS[2] unacked_index zset, KEYS[3..] the lists, in serving order (all
 * bucket-0 lists, then bucket 3, …; kombu's priority-major BRPOP order).
 * ARGV[1] how many to take, ARGV[2] now in seconds (kombu's score unit), ARGV[3..] for each list the
 * JSON-encoded queue name, so the hash value is kombu's `[envelope, "", queue]`.
 *
 * The hash value is built by concatenation around the raw envelope: re-encoding it with cjson would
 * change it (cjson turns empty arrays into objects). The tag is the envelope's
 * `properties.delivery_tag`; a payload without one (or whose tag is already held, e.g. one envelope
 * routed to two queues) gets a generated `tq-…` tag, so nothing is overwritten or lost.
 *
 * Returns `{list index (1-based), tag, payload, …}`.
 */
export const FETCH_SCRIPT = `
local want = tonumber(ARGV[1])
local now = ARGV[2]
local out = {}
local taken = 0

local function tag_of(payload)
  -- kombu and tq write delivery_tag last in properties, and properties last: match the tail first,
  -- which costs far less than decoding a large envelope.
  local tag = string.match(payload, '"delivery_tag":%s*"([^"\\\\]+)"%s*}%s*}%s*$')
  if tag then return tag end
  local ok, decoded = pcall(cjson.decode, payload)
  if ok and type(decoded) == 'table' and type(decoded.properties) == 'table' then
    tag = decoded.properties.delivery_tag
    if type(tag) == 'string' and tag ~= '' then return tag end
  end
  return nil
end

for i = 3, #KEYS do
  if taken >= want then break end
  local popped = redis.call('RPOP', KEYS[i], want - taken)
  if popped then
    for _, payload in ipairs(popped) do
      taken = taken + 1
      local tag = tag_of(payload)
      if not tag or redis.call('HEXISTS', KEYS[1], tag) == 1 then
        local base = 'tq-' .. now .. '-' .. taken
        tag = base
        local n = 0
        while redis.call('HEXISTS', KEYS[1], tag) == 1 do
          n = n + 1
          tag = base .. '-' .. n
        end
      end
      redis.call('ZADD', KEYS[2], now, tag)
      redis.call('HSET', KEYS[1], tag, '[' .. payload .. ', "", ' .. ARGV[i] .. ']')
      out[#out + 1] = i - 2
      out[#out + 1] = tag
      out[#out + 1] = payload
    end
  end
end
return out
`;
