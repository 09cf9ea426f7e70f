--[[
  Stops downloads from a pool after a busy (429/503) answer. Without a Retry-After each strike in
  a row doubles the back-off. Never shortens a back-off already set.

  KEYS[1] backoff: exists while the pool is backed off
  KEYS[2] strikes: busy answers in a row

  ARGV[1] requested ms (the Retry-After; 0: none given)
  ARGV[2] base ms
  ARGV[3] max ms

  Returns the back-off left, in ms.
]]
local strikes = redis.call('INCR', KEYS[2])
local ms = tonumber(ARGV[1])
if ms <= 0 then ms = math.min(tonumber(ARGV[2]) * 2 ^ math.min(strikes - 1, 16), tonumber(ARGV[3])) end
ms = math.floor(ms)
redis.call('PEXPIRE', KEYS[2], ms * 2 + 60000)
if redis.call('PTTL', KEYS[1]) < ms then redis.call('SET', KEYS[1], '1', 'PX', ms) end
return redis.call('PTTL', KEYS[1])
