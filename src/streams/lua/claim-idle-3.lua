-- claim-idle-3: claim entries of dead or stuck consumers that have been idle past the claim floor,
-- skipping entries that carry a retry hint (they wait for their backoff; XAUTOCLAIM could not skip them).
-- KEYS[1] partition stream
-- KEYS[2] the group's retry-hint ZSET
-- KEYS[3] the group's failure-count HASH
-- ARGV[1] group
-- ARGV[2] consumer that takes the entries
-- ARGV[3] min idle ms (the claim floor)
-- ARGV[4] max entries to take
-- ARGV[5] max pending entries to scan
-- Returns {entries (as XCLAIM), failure counts, delivery counts after this claim, lost ids}, or -1 when
--   malformed. Lost ids were pending but their entries are gone from the stream (data-loss alarm).
local minIdle = tonumber(ARGV[3])
local count = tonumber(ARGV[4])
local maxScan = tonumber(ARGV[5])
if not minIdle or minIdle < 0 or not count or count < 1 or not maxScan or maxScan < 1 then return -1 end
local picked, deliveries = {}, {}
local start, scanned = '-', 0
while #picked < count and scanned < maxScan do
  local want = math.min(100, maxScan - scanned)
  local batch = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', minIdle, start, '+', want)
  for _, p in ipairs(batch) do
    scanned = scanned + 1
    start = '(' .. p[1]
    if not redis.call('ZSCORE', KEYS[2], p[1]) then
      picked[#picked + 1] = p[1]
      deliveries[p[1]] = p[4] + 1
      if #picked >= count then break end
    end
  end
  if #batch < want then break end
end
local entries, failures, counts, lost = {}, {}, {}, {}
if #picked > 0 then
  local claimed = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], minIdle, unpack(picked))
  local got = {}
  for _, e in ipairs(claimed) do
    if e[2] then
      got[e[1]] = true
      entries[#entries + 1] = e
      failures[#failures + 1] = redis.call('HGET', KEYS[3], e[1]) or '0'
      counts[#counts + 1] = deliveries[e[1]]
    end
  end
  for _, id in ipairs(picked) do
    if not got[id] then
      lost[#lost + 1] = id
      redis.call('HDEL', KEYS[3], id)
      redis.call('XACK', KEYS[1], ARGV[1], id)
    end
  end
end
return { entries, failures, counts, lost }
