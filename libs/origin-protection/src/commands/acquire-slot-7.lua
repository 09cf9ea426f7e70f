--[[
  Takes a download slot of an origin pool, or says why not and how long to wait.

  Free slots are left to live sync waiters first: somebody waiting for an answer beats a prefetch.
  With a rate, starts are spaced at least the interval apart (`last`); a prefetch refused by the
  rate reserves the next free start time after the others (`horizon`), so parked prefetches come
  back one at a time instead of as a herd, and newcomers queue behind them.

  KEYS[1] slots: sorted set of slot tokens, scored by lease expiry
  KEYS[2] backoff: exists while the pool is backed off
  KEYS[3] sync waiters: sorted set of polling sync jobs, scored by expiry
  KEYS[4] async waiters: sorted set of parked prefetches, scored by arrival (FIFO wake-ups)
  KEYS[5] rate: hash of `last` (last start) and `horizon` (next free reservation), in ms
  KEYS[6] reservations: hash of waiter id to its reserved start, in ms
  KEYS[7] download lease of the original (see ARGV[10]); any key when none is asked for

  ARGV[1] cap: slots of the pool
  ARGV[2] token of the new slot
  ARGV[3] lease ms
  ARGV[4] urgency: 'sync' or 'async'
  ARGV[5] waiter id
  ARGV[6] ms between starts (0: no rate)
  ARGV[7] ms a sync waiter stays registered without asking again
  ARGV[8] ms the pool's line of parked prefetches and its rate state live untouched
  ARGV[9] '1': a refused prefetch joins the line of parked prefetches (it will park); '0': it
          does not (it waits in its process's own line, where a finished download hands it a slot)
  ARGV[10] token of the original's download lease to take first, in the same call ('' for none):
           one round trip instead of two at the start of a download
  ARGV[11] lease ms of the download lease

  Returns {1, 0, ''} when the slot is taken, else {0, amount, reason}: the back-off left
  ('backoff'), the ms until the reserved start ('rate') or the waiter's place in line ('saturated').
  With a download lease asked for: {0, 0, 'leased'} when another download holds it (then neither
  the lease nor the slot is taken, and the waiter joins no line); otherwise the lease is taken,
  whether the slot is or not.
]]
if ARGV[10] ~= '' and not redis.call('SET', KEYS[7], ARGV[10], 'PX', tonumber(ARGV[11]), 'NX') then
  return {0, 0, 'leased'}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local backoff = redis.call('PTTL', KEYS[2])
if backoff > 0 then return {0, backoff, 'backoff'} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local leaseMs = tonumber(ARGV[3])
local isSync = ARGV[4] == 'sync'
local waiter = ARGV[5]
local syncWaiterTtl = tonumber(ARGV[7])
local waitersTtl = tonumber(ARGV[8])
local liveSync = redis.call('ZCARD', KEYS[3])
local free = tonumber(ARGV[1]) - redis.call('ZCARD', KEYS[1])
if not isSync then free = free - liveSync end
if free <= 0 then
  if isSync then
    redis.call('ZADD', KEYS[3], now + syncWaiterTtl, waiter)
    redis.call('PEXPIRE', KEYS[3], syncWaiterTtl * 2)
    return {0, 0, 'saturated'}
  end
  if ARGV[9] ~= '1' then return {0, 0, 'saturated'} end
  if not redis.call('ZSCORE', KEYS[4], waiter) then
    -- Arrival order even within one millisecond: equal scores would rank by waiter id instead.
    local last = redis.call('ZRANGE', KEYS[4], -1, -1, 'WITHSCORES')
    local arrival = now
    if last[2] and tonumber(last[2]) >= now then arrival = tonumber(last[2]) + 0.01 end
    redis.call('ZADD', KEYS[4], arrival, waiter)
  end
  redis.call('PEXPIRE', KEYS[4], waitersTtl)
  return {0, redis.call('ZRANK', KEYS[4], waiter), 'saturated'}
end
local interval = tonumber(ARGV[6])
if interval > 0 then
  local last = tonumber(redis.call('HGET', KEYS[5], 'last') or 0)
  local ready = now >= last + interval
  if isSync then
    if not ready then
      redis.call('ZADD', KEYS[3], now + syncWaiterTtl, waiter)
      redis.call('PEXPIRE', KEYS[3], syncWaiterTtl * 2)
      return {0, last + interval - now, 'rate'}
    end
  else
    local reserved = tonumber(redis.call('HGET', KEYS[6], waiter) or 0)
    if reserved > now then return {0, reserved - now, 'rate'} end
    local horizon = tonumber(redis.call('HGET', KEYS[5], 'horizon') or 0)
    if (not ready) or liveSync > 0 or (reserved == 0 and horizon > now) then
      local target = math.max(horizon, last + interval, now + 1)
      redis.call('HSET', KEYS[6], waiter, target)
      redis.call('HSET', KEYS[5], 'horizon', target + interval)
      redis.call('PEXPIRE', KEYS[5], waitersTtl)
      redis.call('PEXPIRE', KEYS[6], waitersTtl)
      redis.call('ZREM', KEYS[4], waiter)
      return {0, target - now, 'rate'}
    end
    if reserved > 0 then redis.call('HDEL', KEYS[6], waiter) end
  end
  redis.call('HSET', KEYS[5], 'last', now)
  redis.call('PEXPIRE', KEYS[5], waitersTtl)
end
redis.call('ZADD', KEYS[1], now + leaseMs, ARGV[2])
redis.call('PEXPIRE', KEYS[1], leaseMs * 2)
if isSync then redis.call('ZREM', KEYS[3], waiter) else redis.call('ZREM', KEYS[4], waiter) end
return {1, 0, ''}
