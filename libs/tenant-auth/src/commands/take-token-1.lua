--[[
  Token bucket on Redis's clock: takes one request token of a tenant. The bucket starts full, so
  over t seconds a tenant gets burst + rate × t requests.

  KEYS[1] bucket: hash of `tokens` and `at` (ms of the last update)

  ARGV[1] rate: tokens per second
  ARGV[2] burst: bucket size

  Returns {allowed (1 or 0), ms until a token is free (0 when allowed)}.

  Defined with the allow-oom flag (tenant-rate-limiter.ts): limits are still kept when Redis is at maxmemory and refuses other
  writes; a bucket is one small hash per tenant, so this cannot be what fills Redis.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local allowed = 0
local retry = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retry = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {allowed, retry}
