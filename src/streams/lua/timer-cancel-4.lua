-- timer-cancel-4: cancel a timer of one partition by id. Always leaves a tombstone (never lowered), so a cancel
-- that arrives before its schedule wins; a pending timer is removed only when its version is not newer.
-- KEYS[1] the partition's timer ZSET (member = timer id, score = due ms)
-- KEYS[2] the partition's timer payload HASH (timer id -> "<version>\n<JSON array of entry fields>")
-- KEYS[3] the partition's timer tombstone HASH (timer id -> highest version that fired or was cancelled)
-- KEYS[4] the partition's tombstone expiry ZSET (timer id -> ms after which its tombstone is pruned)
-- ARGV[1] timer id
-- ARGV[2] version cancelled (decimal; the caller passes the largest safe integer to beat every version)
-- ARGV[3] tombstone retention ms
-- Returns 1 when a pending timer was removed, 0 when none was (absent, or pending with a newer version),
--   or -1 when the arguments are malformed (nothing written).
local MAX_VERSION = 9007199254740991
local id, version = ARGV[1], ARGV[2]
local retention = tonumber(ARGV[3])
if not id or id == '' or #id > 800 then return -1 end
if not version or not string.match(version, '^%d+$') or #version > 16 or tonumber(version) > MAX_VERSION then
  return -1
end
if not retention or retention < 1 or retention ~= math.floor(retention) then return -1 end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local v = tonumber(version)
-- the tombstone goes first: whatever happens next, a schedule of this version or older is now a no-op
local tomb = redis.call('HGET', KEYS[3], id)
if not tomb or tonumber(tomb) < v then redis.call('HSET', KEYS[3], id, version) end
redis.call('ZADD', KEYS[4], 'GT', now + retention, id)

if redis.call('ZSCORE', KEYS[1], id) then
  local current = redis.call('HGET', KEYS[2], id)
  local currentVersion = current and tonumber(string.match(current, '^(%d+)\n')) or -1
  if currentVersion <= v then
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
    return 1
  end
end
return 0
