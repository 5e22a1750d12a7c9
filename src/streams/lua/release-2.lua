-- release-2: on shutdown, hand entries this consumer still owns to the others at once: a retry hint due
-- now (failure count unchanged, a shutdown is not a failure), so claim-due takes them without waiting.
-- KEYS[1] partition stream
-- KEYS[2] the group's retry-hint ZSET
-- ARGV[1] group
-- ARGV[2] consumer
-- ARGV[3 ..] entry ids
-- Returns the number of entries released, or -1 when malformed.
if #ARGV < 3 then return -1 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local released = 0
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if p[1] and p[1][2] == ARGV[2] then
    redis.call('ZADD', KEYS[2], now, ARGV[i])
    released = released + 1
  end
end
return released
