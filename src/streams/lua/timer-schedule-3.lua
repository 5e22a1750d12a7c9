-- timer-schedule-3: schedule a batch of timers of one partition: idempotent by timer id, loses to tombstones,
-- a higher version reschedules. Publishes a wake-up when a timer lands before the partition's previous first one.
-- KEYS[1] the partition's timer ZSET (member = timer id, score = due ms in Redis time)
-- KEYS[2] the partition's timer payload HASH (timer id -> "<version>\n<JSON array of entry field/value strings>")
-- KEYS[3] the partition's timer tombstone HASH (timer id -> highest version that fired or was cancelled)
-- ARGV[1] wake channel
-- ARGV[2] partition tag (named in the wake message "<tag> <due ms> <delay ms>")
-- ARGV[3] number of timers n; then per timer: timer id, due ms, version, JSON array of entry fields
-- Returns {codes (one per timer: 1 scheduled, 2 unchanged, 3 rescheduled, 4 tombstoned), 1 if a wake-up was
--   published else 0}, or -1 when the arguments are malformed (nothing written).
local MAX_VERSION = 9007199254740991
local MAX_DUE = 253402300799999
local n = tonumber(ARGV[3])
if not ARGV[1] or ARGV[1] == '' or not ARGV[2] or ARGV[2] == '' then return -1 end
if not n or n < 1 or n ~= math.floor(n) or #ARGV ~= 3 + 4 * n then return -1 end

-- A shape check only (decoding every payload would double the cost of a schedule): the caller encodes with
-- JSON.stringify, and the mover dead-letters a payload it cannot decode instead of failing on it.
local function validFields(json)
  return #json >= 9 and string.sub(json, 1, 2) == '["' and string.sub(json, -2) == '"]'
end

-- validate the whole batch before the first write: scripts do not roll back
for i = 4, #ARGV, 4 do
  local id, due, version = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if id == '' or #id > 800 then return -1 end
  if not string.match(due, '^%d+$') or #due > 15 or tonumber(due) > MAX_DUE then return -1 end
  if not string.match(version, '^%d+$') or #version > 16 or tonumber(version) > MAX_VERSION then return -1 end
  if not validFields(ARGV[i + 3]) then return -1 end
end

local head = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local firstDue = head[2] and tonumber(head[2])
local earliest, earliestText = nil, nil
local codes = {}
for i = 4, #ARGV, 4 do
  local id, dueText, version = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local code
  local tomb = redis.call('HGET', KEYS[3], id)
  if tomb and tonumber(tomb) >= version then
    code = 4
  else
    code = 1
    if redis.call('ZSCORE', KEYS[1], id) then
      local current = redis.call('HGET', KEYS[2], id)
      local currentVersion = current and tonumber(string.match(current, '^(%d+)\n')) or -1
      if version <= currentVersion then code = 2 else code = 3 end
    end
    if code ~= 2 then
      -- payload before the ZSET member: a timer the mover sees always has its payload
      redis.call('HSET', KEYS[2], id, ARGV[i + 2] .. '\n' .. ARGV[i + 3])
      redis.call('ZADD', KEYS[1], dueText, id)
      local due = tonumber(dueText)
      if not earliest or due < earliest then
        earliest, earliestText = due, dueText
      end
    end
  end
  codes[#codes + 1] = code
end

local woke = 0
if earliest and (not firstDue or earliest < firstDue) then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local delay = string.format('%d', math.max(0, earliest - now))
  redis.call('PUBLISH', ARGV[1], ARGV[2] .. ' ' .. earliestText .. ' ' .. delay)
  woke = 1
end
return { codes, woke }
