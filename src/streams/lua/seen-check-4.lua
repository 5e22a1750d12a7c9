-- seen-check-4: which of a batch of event ids a group has already acked within the dedupe window.
-- One SMISMEMBER per bucket for the whole batch (not one SISMEMBER per id and bucket); older buckets are asked
-- only about the ids not found yet.
-- KEYS[1-4] the group's seen buckets (SET of event ids), newest first
-- ARGV      event ids
-- Returns   array of 0|1 in ARGV order. Read-only.
local out = {}
local open = {}
for i = 1, #ARGV do
  out[i] = 0
  open[i] = i
end
-- unpack passes every id on the Lua stack: ask in chunks well below its limit
local CHUNK = 4000
for k = 1, 4 do
  if #open == 0 then break end
  local still = {}
  for first = 1, #open, CHUNK do
    local last = math.min(first + CHUNK - 1, #open)
    local ids = {}
    for j = first, last do ids[#ids + 1] = ARGV[open[j]] end
    local flags = redis.call('SMISMEMBER', KEYS[k], unpack(ids))
    for j = first, last do
      if flags[j - first + 1] == 1 then
        out[open[j]] = 1
      else
        still[#still + 1] = open[j]
      end
    end
  end
  open = still
end
return out
