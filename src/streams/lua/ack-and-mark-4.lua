-- ack-and-mark-4: acknowledge a batch of entries and mark their event ids as done, in one call.
-- KEYS[1] partition stream
-- KEYS[2] the group's retry-hint ZSET
-- KEYS[3] the group's failure-count HASH
-- KEYS[4] the group's current seen bucket (SET of event ids)
-- ARGV[1] group
-- ARGV[2] seen bucket TTL ms
-- ARGV[3] number m of event ids to mark; ARGV[4 .. 3+m] those event ids; ARGV[4+m ..] entry ids to ack
-- Returns the number of entries acknowledged, or -1 when the arguments are malformed.
local ttl = tonumber(ARGV[2])
local m = tonumber(ARGV[3])
if not ttl or ttl < 1 or not m or m < 0 or 3 + m > #ARGV then return -1 end
local ids = {}
for i = 4 + m, #ARGV do ids[#ids + 1] = ARGV[i] end
if #ids == 0 then return -1 end
-- the mark goes first: a crash between mark and ack leaves an entry that is skipped as a repeat, never lost
if m > 0 then
  local marks = {}
  for i = 4, 3 + m do marks[#marks + 1] = ARGV[i] end
  redis.call('SADD', KEYS[4], unpack(marks))
  redis.call('PEXPIRE', KEYS[4], ttl)
end
local acked = redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
redis.call('ZREM', KEYS[2], unpack(ids))
redis.call('HDEL', KEYS[3], unpack(ids))
return acked
