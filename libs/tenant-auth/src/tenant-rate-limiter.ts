import type { Redis } from 'ioredis';
import { defineRedisScript } from '@image-cloud/redis-scripts';
import takeTokenLua from './commands/take-token-1.lua';

/**
 * Token bucket in one Lua call, on Redis's clock, so every server replica shares the same bucket
 * and the same time. The bucket starts full: over t seconds a tenant gets burst + rate × t requests.
 * It keeps working when Redis is at maxmemory (allow-oom): a full Redis must not lift the limits.
 */
const takeToken = defineRedisScript<[number, number]>('tenantTakeToken', 1, takeTokenLua, { flags: ['allow-oom'] });

/** A tenant's bucket, beside BullMQ's keys under the same prefix. */
const bucketKey = (prefix: string, tenant: string) => `${prefix}:rate:${tenant}`;

export type RateDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

/** Per-tenant request limits (policy 4: peak control per tenant, `requestsPerSecond` and `burst`), cluster-wide in Redis. */
export class TenantRateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async take(tenant: string, requestsPerSecond: number, burst: number): Promise<RateDecision> {
    const [allowed, retryAfterMs] = await takeToken(this.redis, [bucketKey(this.prefix, tenant)], [requestsPerSecond, burst]);
    return allowed === 1 ? { allowed: true } : { allowed: false, retryAfterMs };
  }
}
