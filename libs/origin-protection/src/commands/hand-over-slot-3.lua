--[[
  After a successful download, keeps its slot for another download of the same process, unless a
  live sync waiter is owed it (free slots go to sync waiters first). The origin answered, so a run
  of busy answers ends, as a release would end it.

  KEYS[1] slots: sorted set of slot tokens, scored by lease expiry
  KEYS[2] sync waiters: sorted set of waiter ids, scored by expiry
  KEYS[3] strikes: count of busy answers in a row

  ARGV[1] token of the slot
  ARGV[2] lease ms

  Returns 1 when the slot is kept (its lease renewed), 0 when the caller must release it.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('DEL', KEYS[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) > 0 then return 0 end
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return 1
