-- group-delete-3: delete one consumer group from a partition stream, with its retry hints and failure counts,
-- refusing while the group has pending entries unless forced. The check and the delete are one atomic step.
-- KEYS[1] partition stream
-- KEYS[2] the group's retry-hint ZSET
-- KEYS[3] the group's failure-count HASH
-- ARGV[1] group
-- ARGV[2] '1' to delete even with pending entries (they are dropped for this group), '0' to refuse
-- Returns {code, pending}: code 1 deleted, 0 no such group (or stream), 2 refused; or -1 when malformed.
if not ARGV[1] or ARGV[1] == '' or (ARGV[2] ~= '0' and ARGV[2] ~= '1') then return -1 end
if redis.call('EXISTS', KEYS[1]) == 0 then return { 0, 0 } end
local ok, summary = pcall(redis.call, 'XPENDING', KEYS[1], ARGV[1])
if not ok then return { 0, 0 } end
local pending = tonumber(summary[1]) or 0
if pending > 0 and ARGV[2] == '0' then return { 2, pending } end
redis.call('XGROUP', 'DESTROY', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2], KEYS[3])
return { 1, pending }
