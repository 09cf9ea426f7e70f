--[[
  Frees a download slot, and announces the pool on the releases channel in the same call, so
  downloads waiting in line anywhere wake at once; an answer from the origin ends a run of busy
  (429/503) answers. The parked prefetches owed the free slots leave their line in the same call,
  so waking them costs no further round trip to find them.

  KEYS[1] slots: sorted set of slot tokens, scored by lease expiry
  KEYS[2] sync waiters: sorted set of polling sync jobs, scored by expiry
  KEYS[3] strikes: busy answers in a row
  KEYS[4] async waiters: sorted set of parked prefetches, scored by arrival (FIFO wake-ups)

  ARGV[1] token of the slot
  ARGV[2] cap: slots of the pool
  ARGV[3] '1' when the origin answered, else '0'
  ARGV[4] releases channel (pub/sub)
  ARGV[5] the pool, as announced

  Returns {free, waiter, arrival, waiter, arrival, …}: how many parked prefetches to wake (one per
  free slot, none while a sync waiter is polling: it takes the slot itself), and the oldest of
  them, at most that many, taken out of the line for the caller to wake.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREM', KEYS[1], ARGV[1])
if ARGV[3] == '1' then redis.call('DEL', KEYS[3]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('PUBLISH', ARGV[4], ARGV[5])
local free = math.max(0, tonumber(ARGV[2]) - redis.call('ZCARD', KEYS[1]) - redis.call('ZCARD', KEYS[2]))
local reply = {free}
if free > 0 then
  for _, value in ipairs(redis.call('ZPOPMIN', KEYS[4], free)) do reply[#reply + 1] = value end
end
return reply
