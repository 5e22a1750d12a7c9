-- retry-later-3: leave entries pending and record when they may be tried again (the retry hint).
-- KEYS[1] partition stream
-- KEYS[2] the group's retry-hint ZSET (score = due ms in Redis time)
-- KEYS[3] the group's failure-count HASH
-- ARGV[1] group
-- ARGV[2] consumer (only entries this consumer still owns get a hint)
-- ARGV[3 ..] triples: entry id, delay ms, failure count after this attempt
-- Returns the number of hints written (entries no longer owned are skipped), or -1 when malformed.
if #ARGV < 5 or (#ARGV - 2) % 3 ~= 0 then return -1 end
for i = 3, #ARGV, 3 do
  local delay = tonumber(ARGV[i + 1])
  local failures = tonumber(ARGV[i + 2])
  -- x ~= x is true only for NaN; math.huge is Infinity: neither may become a score
  if not delay or delay ~= delay or delay < 0 or delay == math.huge then return -1 end
  if not failures or failures ~= failures or failures < 0 or failures == math.huge then return -1 end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local written = 0
for i = 3, #ARGV, 3 do
  local id = ARGV[i]
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)
  if pending[1] and pending[1][2] == ARGV[2] then
    redis.call('HSET', KEYS[3], id, ARGV[i + 2])
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[i + 1]), id)
    written = written + 1
  end
end
return written
