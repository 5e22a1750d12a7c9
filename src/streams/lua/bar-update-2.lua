-- bar-update-2: apply one trade to one OHLCV bar atomically, once per trade id, whatever order trades arrive in.
-- open/close = price of the earliest/latest trade by (ts, trade id); ties on ts are broken by trade id in shortlex
-- order (shorter first, then byte-wise), which is numeric order for decimal ids. Prices and quantities are
-- non-negative integers in minor units as decimal strings; sums and price x qty are exact decimal arithmetic
-- (Lua numbers are doubles, exact only below 2^53, so no value goes through a Lua number whole).
-- KEYS[1] bar HASH: open high low close volume quoteVolume trades openTs openId closeTs closeId
-- KEYS[2] SET of trade ids applied to this bar
-- ARGV[1] trade id (1-128 bytes)
-- ARGV[2] trade time, integer ms since the epoch (0 .. 2^53 - 1), no leading zeros
-- ARGV[3] price, integer minor units, 1-30 digits, no leading zeros
-- ARGV[4] quantity, integer minor units, 1-30 digits, no leading zeros
-- ARGV[5] TTL ms of the bar and its trade-id set (integer 1 .. 2^53 - 1), refreshed on every applied trade
-- Returns 1 when applied, 0 when this trade id was already applied (nothing written), or -1 when malformed.
local id, tsText, price, qty = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local ttl = tonumber(ARGV[5])

local function canonical(text, maxDigits)
  return text ~= nil and #text >= 1 and #text <= maxDigits and string.match(text, '^%d+$') ~= nil
    and (text == '0' or string.sub(text, 1, 1) ~= '0')
end

if id == nil or #id < 1 or #id > 128 then return -1 end
if not canonical(tsText, 16) or tonumber(tsText) > 9007199254740991 then return -1 end
if not canonical(price, 30) or not canonical(qty, 30) then return -1 end
-- at most 2^53 - 1: a larger number would reach PEXPIRE as '1e+20', which Redis refuses after the first write
if not ttl or ttl ~= ttl or ttl < 1 or ttl > 9007199254740991 or ttl % 1 ~= 0 then return -1 end
local ts = tonumber(tsText)

-- Shortlex order, compared byte by byte (Lua's string < follows the server locale's collation).
local function less(a, b)
  if #a ~= #b then return #a < #b end
  for i = 1, #a do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return false
end

-- Decimal strings as little-endian base-10^7 limbs: a limb product (< 10^14) plus carries stays below 2^53.
local LIMB = 10000000
local function limbs(text)
  local out, i = {}, #text
  while i >= 1 do
    local j = math.max(1, i - 6)
    out[#out + 1] = tonumber(string.sub(text, j, i))
    i = j - 1
  end
  return out
end

local function decimal(l)
  local n = #l
  while n > 1 and l[n] == 0 do n = n - 1 end
  local parts = { string.format('%d', l[n]) }
  for k = n - 1, 1, -1 do parts[#parts + 1] = string.format('%07d', l[k]) end
  return table.concat(parts)
end

local function add(a, b)
  local x, y, out, carry = limbs(a), limbs(b), {}, 0
  for k = 1, math.max(#x, #y) do
    local sum = (x[k] or 0) + (y[k] or 0) + carry
    out[k] = sum % LIMB
    carry = math.floor(sum / LIMB)
  end
  if carry > 0 then out[#out + 1] = carry end
  return decimal(out)
end

local function mul(a, b)
  local x, y, out = limbs(a), limbs(b), {}
  for k = 1, #x + #y do out[k] = 0 end
  for i = 1, #x do
    local carry = 0
    for j = 1, #y do
      local cell = out[i + j - 1] + x[i] * y[j] + carry
      out[i + j - 1] = cell % LIMB
      carry = math.floor(cell / LIMB)
    end
    local k = i + #y
    while carry > 0 do
      local cell = out[k] + carry
      out[k] = cell % LIMB
      carry = math.floor(cell / LIMB)
      k = k + 1
    end
  end
  return decimal(out)
end

local function earlier(ts1, id1, ts2, id2)
  if ts1 ~= ts2 then return ts1 < ts2 end
  return less(id1, id2)
end

-- Reads first: a key of the wrong type fails here, before any write.
if redis.call('SISMEMBER', KEYS[2], id) == 1 then return 0 end
local bar = {}
local flat = redis.call('HGETALL', KEYS[1])
for i = 1, #flat, 2 do bar[flat[i]] = flat[i + 1] end

-- Every new value is computed before the first write (scripts do not roll back).
local quote = mul(price, qty)
local fields
if bar['trades'] == nil then
  fields = {
    'open', price, 'high', price, 'low', price, 'close', price,
    'volume', qty, 'quoteVolume', quote, 'trades', '1',
    'openTs', tsText, 'openId', id, 'closeTs', tsText, 'closeId', id,
  }
else
  fields = {
    'volume', add(bar['volume'], qty),
    'quoteVolume', add(bar['quoteVolume'], quote),
    'trades', add(bar['trades'], '1'),
  }
  local function set(field, value)
    fields[#fields + 1] = field
    fields[#fields + 1] = value
  end
  if less(bar['high'], price) then set('high', price) end
  if less(price, bar['low']) then set('low', price) end
  if earlier(ts, id, tonumber(bar['openTs']), bar['openId']) then
    set('open', price)
    set('openTs', tsText)
    set('openId', id)
  end
  if earlier(tonumber(bar['closeTs']), bar['closeId'], ts, id) then
    set('close', price)
    set('closeTs', tsText)
    set('closeId', id)
  end
end

redis.call('SADD', KEYS[2], id)
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return 1
