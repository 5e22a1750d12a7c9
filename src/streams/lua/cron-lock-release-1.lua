-- cron-lock-release-1: releases a cron schedule's overlap lock, only for its owner (compare-and-delete), so a run
-- that outlived its lock never frees the lock of the run that took over.
-- KEYS[1] the schedule's lock STRING (owner token)
-- ARGV[1] the owner's token
-- Returns 1 when released, 0 when the lock expired or belongs to another run, or -1 when the argument is malformed.
if ARGV[1] == nil or ARGV[1] == '' then return -1 end
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
