-- cron-advance-1: moves a cron schedule's high-water mark forward, never back. Optionally only from an expected
-- mark (compare-and-set: one replica decides what a downtime's missed ticks become) and recording the catch-up
-- ticks that decision chose, until they are confirmed on the timer wheel.
-- KEYS[1] the schedule's mark HASH (mark = ms up to which every tick is handled; pending = comma-separated tick ms
--         chosen by a catch-up and not yet confirmed on the wheel)
-- ARGV[1] the new mark (integer ms)
-- ARGV[2] the expected current mark: '' = any, '-' = none yet, else integer ms
-- ARGV[3] catch-up ticks to add to pending: '' or comma-separated integer ms
-- Returns {1 if the mark moved else 0, the mark before ('' = none), the mark now ('' = none)}, or -1 when the
--   arguments are malformed (nothing written).
local function isMs(text)
  return text ~= nil and #text <= 15 and string.match(text, '^%d+$') ~= nil
end
local function isTickList(text)
  if text == '' then return true end
  if #text > 200000 or not string.match(text, '^[%d,]+$') then return false end
  return string.sub(text, 1, 1) ~= ',' and string.sub(text, -1) ~= ',' and not string.find(text, ',,', 1, true)
end

local target, expected, pending = ARGV[1], ARGV[2], ARGV[3]
if not isMs(target) or expected == nil or pending == nil then return -1 end
if expected ~= '' and expected ~= '-' and not isMs(expected) then return -1 end
if not isTickList(pending) then return -1 end

local current = redis.call('HGET', KEYS[1], 'mark')
local before = current or ''
if expected == '-' and current then return { 0, before, before } end
if expected ~= '' and expected ~= '-' and current ~= expected then return { 0, before, before } end
if current and tonumber(target) <= tonumber(current) then return { 0, before, before } end

redis.call('HSET', KEYS[1], 'mark', target)
if pending ~= '' then
  local existing = redis.call('HGET', KEYS[1], 'pending')
  redis.call('HSET', KEYS[1], 'pending', existing and (existing .. ',' .. pending) or pending)
end
return { 1, before, target }
