--[[
  Token bucket on Redis's clock: leases up to `wanted` request tokens of a tenant at once, so a
  server process can hand them out without a Redis call per request. The bucket starts full, so
  over t seconds at most burst + rate × t tokens leave it, whoever leases them.

  KEYS[1] bucket: hash of `tokens` and `at` (ms of the last update)

  ARGV[1] rate: tokens per second
  ARGV[2] burst: bucket size
  ARGV[3] wanted: tokens asked for (1 takes one token, as a single request did before leases)

  Returns {granted (0 to wanted), ms until a token is free (0 when granted)}. Grants what the
  bucket holds when it holds fewer than wanted but at least one: the bucket never goes below zero,
  and a tenant near its limit is refused exactly when one token is not there.

  Defined with the allow-oom flag (tenant-rate-limiter.ts): limits are still kept when Redis is at maxmemory and refuses other
  writes; a bucket is one small hash per tenant, so this cannot be what fills Redis.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local granted = 0
local retry = 0
if tokens >= 1 then
  granted = math.min(wanted, math.floor(tokens))
  tokens = tokens - granted
else
  retry = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {granted, retry}
