import type { Redis } from 'ioredis';
import { LUA_NOW_MS } from './redis-clock';
import { redisKeys } from './redis-keys';

/**
 * Token bucket in one Lua call, on Redis's clock, so every server replica shares the same bucket
 * and the same time. The bucket starts full: over t seconds a tenant gets burst + rate × t requests.
 */
const TAKE_TOKEN = `${LUA_NOW_MS}
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
`;

export type RateDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

/** Per-tenant request limits (DESIGN.md policy 4), cluster-wide in Redis. */
export class TenantRateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async take(tenant: string, requestsPerSecond: number, burst: number): Promise<RateDecision> {
    const [allowed, retryAfterMs] = (await this.redis.eval(TAKE_TOKEN, 1, redisKeys.rateBucket(this.prefix, tenant), requestsPerSecond, burst)) as [number, number];
    return allowed === 1 ? { allowed: true } : { allowed: false, retryAfterMs };
  }
}
