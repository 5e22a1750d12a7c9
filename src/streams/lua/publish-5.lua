-- publish-5: idempotent XADD of a batch of events into one partition stream.
-- KEYS[1]   partition stream
-- KEYS[2-5] published-id buckets (HASH event id -> entry id), newest first; new ids go into KEYS[2]
-- ARGV[1]   bucket TTL ms
-- ARGV[2]   approximate MAXLEN for the stream (0 = no cap)
-- ARGV[3]   number of events n; then per event: event id, field count f (even), f field/value strings
-- Returns   flat array {entry id, duplicate flag (0|1)} per event, or -1 when the arguments are malformed.
local ttl = tonumber(ARGV[1])
local maxlen = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
if not ttl or ttl < 1 or ttl ~= math.floor(ttl) or not maxlen or maxlen < 0 or maxlen ~= math.floor(maxlen)
  or not n or n < 1 or n ~= math.floor(n) then return -1 end
-- validate the whole batch before the first write: scripts do not roll back
local pos = 4
for _ = 1, n do
  local f = tonumber(ARGV[pos + 1])
  if not ARGV[pos] or not f or f < 2 or f % 2 ~= 0 or pos + 1 + f > #ARGV then return -1 end
  pos = pos + 2 + f
end
if pos - 1 ~= #ARGV then return -1 end

local out = {}
local marked = false
pos = 4
for _ = 1, n do
  local eventId = ARGV[pos]
  local f = tonumber(ARGV[pos + 1])
  local existing = false
  for k = 2, 5 do
    existing = redis.call('HGET', KEYS[k], eventId)
    if existing then break end
  end
  if existing then
    out[#out + 1] = existing
    out[#out + 1] = 1
  else
    local args = { 'XADD', KEYS[1] }
    if maxlen > 0 then
      args[#args + 1] = 'MAXLEN'
      args[#args + 1] = '~'
      args[#args + 1] = maxlen
    end
    args[#args + 1] = '*'
    for i = pos + 2, pos + 1 + f do args[#args + 1] = ARGV[i] end
    local entryId = redis.call(unpack(args))
    redis.call('HSET', KEYS[2], eventId, entryId)
    -- expire right after the first mark, so a later runtime error cannot leave a bucket without a TTL
    if not marked then
      redis.call('PEXPIRE', KEYS[2], ttl)
      marked = true
    end
    out[#out + 1] = entryId
    out[#out + 1] = 0
  end
  pos = pos + 2 + f
end
return out
