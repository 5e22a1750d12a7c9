-- heartbeat-1: refresh the idle time of entries a consumer still owns, without raising delivery counts.
-- The owner check makes a late heartbeat harmless: an entry already claimed by another consumer stays there.
-- KEYS[1] partition stream
-- ARGV[1] group
-- ARGV[2] consumer
-- ARGV[3 ..] entry ids the consumer holds
-- Returns {ids no longer owned by this consumer (claimed elsewhere or acked), ids that were ours but whose
--   entries are gone from the stream (XCLAIM dropped them from the PEL: a data-loss alarm)}, or -1 when malformed.
if #ARGV < 3 then return -1 end
local owned, gone, lost = {}, {}, {}
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if p[1] and p[1][2] == ARGV[2] then
    owned[#owned + 1] = ARGV[i]
  else
    gone[#gone + 1] = ARGV[i]
  end
end
if #owned > 0 then
  -- JUSTID: does not increment the delivery count, so slow handlers never look like crash loops
  local kept = {}
  -- built as a table: unpack() followed by another argument would pass only its first value
  local claim = { 'XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0 }
  for _, id in ipairs(owned) do claim[#claim + 1] = id end
  claim[#claim + 1] = 'JUSTID'
  for _, id in ipairs(redis.call(unpack(claim))) do
    kept[id] = true
  end
  for _, id in ipairs(owned) do
    if not kept[id] then lost[#lost + 1] = id end
  end
end
return { gone, lost }
