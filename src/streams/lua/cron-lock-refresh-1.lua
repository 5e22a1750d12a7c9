-- cron-lock-refresh-1: extends a cron schedule's overlap lock while its run is in progress, only for its owner.
-- KEYS[1] the schedule's lock STRING (owner token)
-- ARGV[1] the owner's token
-- ARGV[2] new time to live (integer ms > 0)
-- Returns 1 when extended, 0 when the lock expired or belongs to another run, or -1 when the arguments are malformed.
if ARGV[1] == nil or ARGV[1] == '' then return -1 end
if ARGV[2] == nil or not string.match(ARGV[2], '^[1-9]%d*$') or #ARGV[2] > 15 then return -1 end
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
