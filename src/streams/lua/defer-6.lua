-- defer-6: the `defer` outcome in one call: schedule (or reschedule) the timer that re-emits the event later,
-- then XACK the current delivery and drop its retry hint. Only while the consumer still owns the entry.
-- Timer rules as timer-schedule-3: idempotent by id, loses to a tombstone of the same or a newer version, a
-- higher version reschedules; a wake-up is published when the timer lands before the partition's first one.
-- A deferral chain (ARGV[10] = 1: the group's re-emissions of one event, version = run number) is not dropped by
-- the tombstone of an earlier, finished chain of the same event (a backfill, a DLQ replay, a re-publish): its
-- version becomes max(requested, tombstone + 1). A redelivery of the same entry cannot reach this after the ack
-- below, so that stays idempotent; only a tombstone at the largest version (a cancel without one) still wins.
-- KEYS[1] partition stream
-- KEYS[2] the group's retry-hint ZSET
-- KEYS[3] the group's failure-count HASH
-- KEYS[4] the partition's timer ZSET (member = timer id, score = due ms)
-- KEYS[5] the partition's timer payload HASH (timer id -> "<version>\n<JSON array of entry fields>")
-- KEYS[6] the partition's timer tombstone HASH (timer id -> highest version that fired or was cancelled)
-- ARGV[1] group
-- ARGV[2] consumer (an entry now owned by another consumer is left to it: nothing is written)
-- ARGV[3] entry id
-- ARGV[4] timer id
-- ARGV[5] due ms
-- ARGV[6] timer version
-- ARGV[7] JSON array of the re-emitted entry's field/value strings
-- ARGV[8] wake channel
-- ARGV[9] partition tag (named in the wake message "<tag> <due ms> <delay ms>")
-- ARGV[10] optional: 1 = a deferral chain (see above), 0 or absent = a tombstone of the same version wins
-- Returns {1 acked | 0 not owned, timer code (1 scheduled, 2 unchanged, 3 rescheduled, 4 tombstoned; 0 when not
--   owned), 1 if a wake-up was published else 0}, or -1 when the arguments are malformed (nothing written).
local MAX_VERSION = 9007199254740991
local MAX_DUE = 253402300799999
if #ARGV ~= 9 and #ARGV ~= 10 then return -1 end
local chain = ARGV[10] == '1'
if ARGV[10] and not chain and ARGV[10] ~= '0' then return -1 end
local group, consumer, entryId, id, dueText, versionText, json = unpack(ARGV, 1, 7)
local due = tonumber(dueText)
if group == '' or consumer == '' or not string.match(entryId, '^%d+%-%d+$') then return -1 end
if id == '' or #id > 800 or ARGV[8] == '' or ARGV[9] == '' then return -1 end
if not string.match(dueText, '^%d+$') or #dueText > 15 or due > MAX_DUE then return -1 end
if not string.match(versionText, '^%d+$') or #versionText > 16 or tonumber(versionText) > MAX_VERSION then
  return -1
end
local ok, fields = pcall(cjson.decode, json)
if not ok or type(fields) ~= 'table' or #fields < 2 or #fields % 2 ~= 0 then return -1 end
for i = 1, #fields do
  if type(fields[i]) ~= 'string' then return -1 end
end

local pending = redis.call('XPENDING', KEYS[1], group, entryId, entryId, 1)
if not (pending[1] and pending[1][2] == consumer) then return { 0, 0, 0 } end

local version = tonumber(versionText)
local code
local tomb = redis.call('HGET', KEYS[6], id)
if chain and tomb and tonumber(tomb) >= version and tonumber(tomb) < MAX_VERSION then
  version = tonumber(tomb) + 1
  versionText = string.format('%d', version)
end
if tomb and tonumber(tomb) >= version then
  code = 4
else
  code = 1
  if redis.call('ZSCORE', KEYS[4], id) then
    local current = redis.call('HGET', KEYS[5], id)
    local currentVersion = current and tonumber(string.match(current, '^(%d+)\n')) or -1
    if version <= currentVersion then code = 2 else code = 3 end
  end
end

local woke = 0
if code == 1 or code == 3 then
  local head = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
  -- the timer is written before the ack: a failure in between leaves the entry pending, never lost
  redis.call('HSET', KEYS[5], id, versionText .. '\n' .. json)
  redis.call('ZADD', KEYS[4], dueText, id)
  if not head[2] or due < tonumber(head[2]) then
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    redis.call('PUBLISH', ARGV[8], ARGV[9] .. ' ' .. dueText .. ' ' .. string.format('%d', math.max(0, due - now)))
    woke = 1
  end
end
redis.call('XACK', KEYS[1], group, entryId)
redis.call('ZREM', KEYS[2], entryId)
redis.call('HDEL', KEYS[3], entryId)
return { 1, code, woke }
