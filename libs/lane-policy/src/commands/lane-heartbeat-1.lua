--[[
  A render worker's heartbeat on Redis's clock, so a dead worker's slots expire on one clock for
  every process (a server whose clock runs behind would otherwise keep counting them).

  KEYS[1] lane workers: sorted set of `workerId|slots` scored by the ms they stop counting

  ARGV[1] member: `workerId|slots`
  ARGV[2] ttl: ms the beat keeps the worker alive

  Also drops the members that expired. Returns the Redis time in ms.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return now
