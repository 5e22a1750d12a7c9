-- dead-letter-4: move entries to the partition DLQ and acknowledge them, in one call.
-- KEYS[1] partition stream
-- KEYS[2] partition DLQ stream
-- KEYS[3] the group's retry-hint ZSET
-- KEYS[4] the group's failure-count HASH
-- ARGV[1] group
-- ARGV[2] consumer (entries now owned by another consumer are left to it)
-- ARGV[3] approximate MAXLEN of the DLQ (0 = no cap)
-- ARGV[4] number of entries n; then per entry: entry id, field count f (even), f DLQ field/value strings
-- Returns array of DLQ entry ids ('' for an entry skipped because it is no longer ours), or -1 when malformed.
local maxlen = tonumber(ARGV[3])
local n = tonumber(ARGV[4])
if not maxlen or maxlen < 0 or not n or n < 1 then return -1 end
local pos = 5
for _ = 1, n do
  local f = tonumber(ARGV[pos + 1])
  if not ARGV[pos] or not f or f < 2 or f % 2 ~= 0 or pos + 1 + f > #ARGV then return -1 end
  pos = pos + 2 + f
end
if pos - 1 ~= #ARGV then return -1 end

local out = {}
pos = 5
for _ = 1, n do
  local id = ARGV[pos]
  local f = tonumber(ARGV[pos + 1])
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)
  if pending[1] and pending[1][2] == ARGV[2] then
    local args = { 'XADD', KEYS[2] }
    if maxlen > 0 then
      args[#args + 1] = 'MAXLEN'
      args[#args + 1] = '~'
      args[#args + 1] = maxlen
    end
    args[#args + 1] = '*'
    for i = pos + 2, pos + 1 + f do args[#args + 1] = ARGV[i] end
    -- the DLQ write goes first: a crash before the ack leaves the entry pending, never lost
    out[#out + 1] = redis.call(unpack(args))
    redis.call('XACK', KEYS[1], ARGV[1], id)
    redis.call('ZREM', KEYS[3], id)
    redis.call('HDEL', KEYS[4], id)
  else
    out[#out + 1] = ''
  end
  pos = pos + 2 + f
end
return out
