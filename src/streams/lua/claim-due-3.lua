-- claim-due-3: take a group's due retry hints (score <= Redis TIME) and claim their entries for a consumer.
-- KEYS[1] partition stream
-- KEYS[2] the group's retry-hint ZSET
-- KEYS[3] the group's failure-count HASH
-- ARGV[1] group
-- ARGV[2] consumer that takes the entries
-- ARGV[3] max entries to take
-- Returns {entries (as XCLAIM), failure counts (same order), lost ids, ms until the next hint is due or -1},
--   or -1 when malformed. A lost id was pending but XCLAIM returned nothing: the entry was deleted from the
--   stream, which the caller raises as a data-loss alarm. Hints of entries no longer pending are dropped.
local count = tonumber(ARGV[3])
if not count or count < 1 then return -1 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, count)
local claimable = {}
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[2], id)
  if redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)[1] then
    claimable[#claimable + 1] = id
  else
    redis.call('HDEL', KEYS[3], id)
  end
end
local entries, failures, lost = {}, {}, {}
if #claimable > 0 then
  local claimed = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, unpack(claimable))
  local got = {}
  for _, e in ipairs(claimed) do
    if e[2] then
      got[e[1]] = true
      entries[#entries + 1] = e
      failures[#failures + 1] = redis.call('HGET', KEYS[3], e[1]) or '0'
    end
  end
  for _, id in ipairs(claimable) do
    if not got[id] then
      lost[#lost + 1] = id
      redis.call('HDEL', KEYS[3], id)
      redis.call('XACK', KEYS[1], ARGV[1], id)
    end
  end
end
local nextDue = -1
local head = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if head[2] then nextDue = math.max(0, tonumber(head[2]) - now) end
return { entries, failures, lost, nextDue }
