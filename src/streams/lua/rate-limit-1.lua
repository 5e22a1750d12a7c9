-- rate-limit-1: take up to n tokens from a token bucket shared by every consumer, timed by Redis TIME (never by
-- worker clocks). The bucket refills continuously at ARGV[1] tokens/s up to ARGV[2]; a missing key is a full bucket,
-- and the key expires once it would be full again, so idle buckets vanish without changing any answer.
-- KEYS[1] bucket HASH {tokens (may be fractional), ts (Redis time of the last take, microseconds)}
-- ARGV[1] rate: tokens per second, 0.000001 .. 10^9 (fractions allowed)
-- ARGV[2] burst: bucket capacity, an integer 1 .. 10^9
-- ARGV[3] requested tokens, an integer >= 1
-- Returns {granted: 0 .. requested (as many whole tokens as the bucket holds), ms until the next whole token
--   (0 when one is left)}, or -1 when malformed.
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local requested = tonumber(ARGV[3])
-- x ~= x is true only for NaN; math.huge is Infinity
-- bounds keep every wait and expiry a finite integer (Redis refuses '1e+18' as an integer after the HSET)
if not rate or rate ~= rate or rate < 0.000001 or rate > 1000000000 then return -1 end
if not burst or burst ~= burst or burst < 1 or burst > 1000000000 or burst % 1 ~= 0 then return -1 end
if not requested or requested ~= requested or requested < 1 or requested == math.huge or requested % 1 ~= 0 then
  return -1
end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if not tokens or not ts then
  tokens = burst
else
  -- a clock stepping back (failover to a replica) refills nothing rather than failing
  tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000000)
end

local granted = math.min(requested, math.floor(tokens))
if granted > 0 then
  tokens = tokens - granted
  redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'ts', string.format('%d', now))
  -- the time to refill completely (+1 s): an expired bucket and a full one are the same state
  redis.call('PEXPIRE', KEYS[1], math.min(math.ceil((burst - tokens) * 1000 / rate) + 1000, 9007199254740991))
end
-- nothing granted: no write; the stored (tokens, ts) already describes the bucket

local wait = 0
if tokens < 1 then wait = math.ceil((1 - tokens) * 1000 / rate) end
return { granted, wait }
