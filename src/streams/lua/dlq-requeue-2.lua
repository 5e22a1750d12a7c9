-- dlq-requeue-2: re-emit one reviewed dead letter into its partition stream and remove it from the DLQ, in one call.
-- The dead letter is re-emitted only while it is still in the DLQ, so a repeated or concurrent requeue adds it once.
-- KEYS[1] partition stream
-- KEYS[2] partition DLQ stream
-- ARGV[1] DLQ entry id; ARGV[2..] the stream field/value strings to XADD (an even number, at least one pair)
-- Returns the new stream entry id, '' when the dead letter is no longer in the DLQ, or -1 when malformed.
local id = ARGV[1]
local f = #ARGV - 1
if not id or not string.match(id, '^%d+%-%d+$') or f < 2 or f % 2 ~= 0 then return -1 end
if #redis.call('XRANGE', KEYS[2], id, id) == 0 then return '' end
local args = { 'XADD', KEYS[1], '*' }
for i = 2, #ARGV do args[#args + 1] = ARGV[i] end
-- the re-emission goes first: a failure before the XDEL leaves the dead letter in place, never loses it
local entryId = redis.call(unpack(args))
redis.call('XDEL', KEYS[2], id)
return entryId
