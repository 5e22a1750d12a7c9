-- seen-check-4: which of a batch of event ids a group has already acked within the dedupe window.
-- KEYS[1-4] the group's seen buckets (SET of event ids), newest first
-- ARGV      event ids
-- Returns   array of 0|1 in ARGV order. Read-only.
local out = {}
for i = 1, #ARGV do
  local seen = 0
  for k = 1, 4 do
    if redis.call('SISMEMBER', KEYS[k], ARGV[i]) == 1 then
      seen = 1
      break
    end
  end
  out[i] = seen
end
return out
