--[[
  The members of a lane's workers set whose heartbeat has not expired, on Redis's clock.

  KEYS[1] lane workers: sorted set of `workerId|slots` scored by the ms they stop counting

  Returns the live members.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
