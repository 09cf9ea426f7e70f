--[[
  Extends a download slot that is still held (an expired one stays gone).

  KEYS[1] slots: sorted set of slot tokens, scored by lease expiry

  ARGV[1] token of the slot
  ARGV[2] lease ms

  Returns 0.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
end
return 0
