-- trim-1: retention trim of one partition stream up to the safe id, never past any pending or undelivered entry.
-- Every group on the stream counts (read here with XINFO GROUPS, so a paused or forgotten group still pins);
-- a group's bound is its oldest pending id, else the id right after its last-delivered-id (everything at or
-- before that is delivered and acked). Known active groups missing from the stream pin everything (0-0).
-- KEYS[1] partition stream
-- ARGV[1] min retention ms: keep entries younger than Redis TIME minus this, even when acked (replay)
-- ARGV[2] hard cap: max entries after the trim before the alarm; 0 = no cap
-- ARGV[3] drop unacked over cap: 1 = MAXLEN-trim to the hard cap (entries lost to some group), 0 = alarm only
-- ARGV[4 ..] known active group names
-- Returns {trimmed, safe id or '' when no group bounds the trim, length after, over cap 0|1,
--   pinning groups (those at the minimum bound, when over cap and groups bound the trim), dropped unacked},
--   or -1 when malformed.
local minRetention = tonumber(ARGV[1])
local hardCap = tonumber(ARGV[2])
local dropOverCap = ARGV[3]
if not minRetention or minRetention < 0 or minRetention % 1 ~= 0 then return -1 end
if not hardCap or hardCap < 0 or hardCap % 1 ~= 0 then return -1 end
if dropOverCap ~= '0' and dropOverCap ~= '1' then return -1 end

-- Ids are compared as (ms, seq) decimal strings: no leading zeros, so shorter means smaller (no float rounding).
local function less(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if #am ~= #bm then return #am < #bm end
  if am ~= bm then return am < bm end
  if #as ~= #bs then return #as < #bs end
  return as < bs
end

local function after(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return ms .. '-' .. string.format('%d', tonumber(seq) + 1)
end

local bounds, names = {}, {}
local function bound(name, id)
  if bounds[name] == nil then names[#names + 1] = name end
  bounds[name] = id
end

if redis.call('EXISTS', KEYS[1]) == 1 then
  for _, info in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
    local fields = {}
    for i = 1, #info, 2 do fields[info[i]] = info[i + 1] end
    local summary = redis.call('XPENDING', KEYS[1], fields['name'])
    if summary[1] > 0 then
      bound(fields['name'], summary[2])
    else
      bound(fields['name'], after(fields['last-delivered-id']))
    end
  end
end
for i = 4, #ARGV do
  if bounds[ARGV[i]] == nil then bound(ARGV[i], '0-0') end
end

local groupMin = nil
for _, name in ipairs(names) do
  if groupMin == nil or less(bounds[name], groupMin) then groupMin = bounds[name] end
end

local trimmed, safe = 0, nil
if groupMin ~= nil then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local retentionId = string.format('%d', math.max(0, now - minRetention)) .. '-0'
  safe = groupMin
  if less(retentionId, safe) then safe = retentionId end
  -- Exact MINID (not '~'): removes precisely the entries before the safe id, so results are deterministic;
  -- '~' would be cheaper (whole radix-tree nodes) but keeps an unpredictable tail of already-acked entries.
  trimmed = redis.call('XTRIM', KEYS[1], 'MINID', safe)
end

local length = redis.call('XLEN', KEYS[1])
local overCap, pinning, dropped = 0, {}, 0
if hardCap > 0 and length > hardCap then
  overCap = 1
  if safe ~= nil and safe == groupMin then
    for _, name in ipairs(names) do
      if bounds[name] == groupMin then pinning[#pinning + 1] = name end
    end
  end
  if dropOverCap == '1' then
    dropped = redis.call('XTRIM', KEYS[1], 'MAXLEN', hardCap)
    length = length - dropped
  end
end
return { trimmed, safe or '', length, overCap, pinning, dropped }
