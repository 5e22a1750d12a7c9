-- timer-move-6: move a partition's due timers (score <= Redis TIME, so never early) into its stream, in one batch:
-- XADD the stored fields with an auto id (entry ms >= due), tombstone the fired version, then remove the timer.
-- Also prunes a bounded number of expired tombstones. Safe with any number of movers running at once.
-- KEYS[1] partition stream
-- KEYS[2] partition DLQ stream (a timer whose payload is missing or unreadable goes there instead)
-- KEYS[3] the partition's timer ZSET (member = timer id, score = due ms)
-- KEYS[4] the partition's timer payload HASH (timer id -> "<version>\n<JSON array of entry fields>")
-- KEYS[5] the partition's timer tombstone HASH (timer id -> highest version that fired or was cancelled)
-- KEYS[6] the partition's tombstone expiry ZSET (timer id -> ms after which its tombstone is pruned)
-- ARGV[1] max timers to move in this call
-- ARGV[2] tombstone retention ms
-- ARGV[3] max expired tombstones to prune in this call (0 = none)
-- Returns {moved, ms until the next timer is due (0 = due now, -1 = none), timer members read,
--   dead-lettered, tombstones pruned}, or -1 when the arguments are malformed.
local batch = tonumber(ARGV[1])
local retention = tonumber(ARGV[2])
local pruneLimit = tonumber(ARGV[3])
if not batch or batch < 1 or batch ~= math.floor(batch) then return -1 end
if not retention or retention < 1 or retention ~= math.floor(retention) then return -1 end
if not pruneLimit or pruneLimit < 0 or pruneLimit ~= math.floor(pruneLimit) then return -1 end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expiry = now + retention

-- Reads a stored payload: version text and field list, or nil and why it cannot be fired.
local function decode(payload)
  if not payload then return nil, nil, 'payload missing' end
  local version, json = string.match(payload, '^(%d+)\n(.*)$')
  if not version then return nil, nil, 'payload has no version line' end
  local ok, fields = pcall(cjson.decode, json)
  if not ok or type(fields) ~= 'table' or #fields < 2 or #fields % 2 ~= 0 then
    return version, nil, 'payload fields are not a JSON array of field/value pairs'
  end
  for i = 1, #fields do
    if type(fields[i]) ~= 'string' then return version, nil, 'payload field is not a string' end
  end
  return version, fields, nil
end

local due = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, batch)
local examined = #due
local moved, dead = 0, 0
for _, id in ipairs(due) do
  local payload = redis.call('HGET', KEYS[4], id)
  local version, fields, problem = decode(payload)
  if fields then
    local args = { 'XADD', KEYS[1], '*' }
    for i = 1, #fields do args[#args + 1] = fields[i] end
    redis.call(unpack(args))
    moved = moved + 1
  else
    redis.call('XADD', KEYS[2], '*', 'reason', 'invalid-timer', 'error', problem, 'timerId', id,
      'payload', payload or '', 'sourceStream', KEYS[1])
    dead = dead + 1
  end
  -- the entry is written first; the tombstone keeps a late or redelivered schedule from firing it again
  version = version or '0'
  local tomb = redis.call('HGET', KEYS[5], id)
  if not tomb or tonumber(tomb) < tonumber(version) then redis.call('HSET', KEYS[5], id, version) end
  redis.call('ZADD', KEYS[6], 'GT', expiry, id)
  redis.call('ZREM', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id)
end

local pruned = 0
if pruneLimit > 0 then
  local expired = redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', now, 'LIMIT', 0, pruneLimit)
  if #expired > 0 then
    redis.call('HDEL', KEYS[5], unpack(expired))
    redis.call('ZREM', KEYS[6], unpack(expired))
    pruned = #expired
  end
end

local nextDelay = -1
local head = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
if head[1] then
  examined = examined + 1
  nextDelay = math.max(0, math.ceil(tonumber(head[2]) - now))
end
return { moved, nextDelay, examined, dead, pruned }
