-- partition-count-1: record a domain's partition count the first time, and return the stored one.
-- KEYS[1] HASH domain -> partition count
-- ARGV[1] domain
-- ARGV[2] partition count this worker is configured with
-- Returns the stored count (equal to ARGV[2] on first use), or -1 when malformed.
local n = tonumber(ARGV[2])
if not ARGV[1] or not n or n < 1 or n ~= math.floor(n) then return -1 end
redis.call('HSETNX', KEYS[1], ARGV[1], n)
return tonumber(redis.call('HGET', KEYS[1], ARGV[1]))
