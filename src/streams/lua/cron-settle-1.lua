-- cron-settle-1: clears a cron schedule's pending catch-up ticks once they are on the timer wheel, unless another
-- catch-up added ticks meanwhile (those stay for the next pass, which schedules them again: ids are deterministic).
-- KEYS[1] the schedule's mark HASH (field pending = comma-separated tick ms)
-- ARGV[1] the pending value that was scheduled (non-empty)
-- Returns 1 when cleared, 0 when pending changed meanwhile, or -1 when the argument is malformed.
if ARGV[1] == nil or ARGV[1] == '' then return -1 end
if redis.call('HGET', KEYS[1], 'pending') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'pending')
return 1
