-- replay-emit-1: one step of a replay through a shadow group: re-emit an entry the shadow group holds (with
-- targetGroup = the replayed job) and acknowledge it in the shadow group, atomically, so a resumed replay
-- re-emits each entry once.
-- KEYS[1] partition stream
-- ARGV[1] shadow group
-- ARGV[2] entry id, pending in the shadow group
-- ARGV[3] '1' to re-emit then ack, '0' to ack only (an entry the replay skips)
-- ARGV[4 ..] field/value strings of the re-emitted entry (with ARGV[3] = '1')
-- Returns the new entry id, '' when only acked, 0 when the entry was no longer pending (already done), -1 malformed.
if not ARGV[1] or not ARGV[2] or (ARGV[3] ~= '0' and ARGV[3] ~= '1') then return -1 end
if ARGV[3] == '1' and (#ARGV < 5 or (#ARGV - 3) % 2 ~= 0) then return -1 end
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if not p[1] then return 0 end
local id = ''
if ARGV[3] == '1' then
  local args = { 'XADD', KEYS[1], '*' }
  for i = 4, #ARGV do args[#args + 1] = ARGV[i] end
  id = redis.call(unpack(args))
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return id
