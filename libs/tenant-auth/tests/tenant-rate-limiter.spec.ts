import IORedis, { type Redis } from 'ioredis';
import { TEST_REDIS_URL, deleteKeysWithPrefix, uniquePrefix } from '@image-cloud/testing';
import { TenantRateLimiter } from '../src';

let prefix: string;
let redis: Redis;
let limiter: TenantRateLimiter;

beforeAll(() => {
  prefix = uniquePrefix('tenant-rate-limiter');
  redis = new IORedis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  limiter = new TenantRateLimiter(redis, prefix);
});

afterAll(async () => {
  redis.disconnect();
  await deleteKeysWithPrefix(TEST_REDIS_URL, prefix);
});

describe('TenantRateLimiter (real Redis)', () => {
  it('lets a full bucket through, then refuses with the wait until the next token, per tenant', async () => {
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push(await limiter.take('tiny', 2, 3));
    expect(decisions.slice(0, 3)).toEqual([{ allowed: true }, { allowed: true }, { allowed: true }]);
    const refused = decisions[3]!;
    expect(refused.allowed).toBe(false);
    if (!refused.allowed) expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(await limiter.take('other', 2, 3)).toEqual({ allowed: true });
  });

  it('tells an empty bucket to wait exactly one token interval, computed on Redis\'s clock', async () => {
    // An empty bucket last updated an hour ahead of Redis's clock: no time has passed for it, so no
    // token has come back, whatever the machine's speed.
    const emptyAheadOfTime = async (tenant: string) => {
      const [seconds] = await redis.time();
      await redis.hset(`${prefix}:rate:${tenant}`, { tokens: '0', at: String((Number(seconds) + 3_600) * 1000) });
    };
    await emptyAheadOfTime('empty-slow');
    expect(await limiter.take('empty-slow', 2, 3)).toEqual({ allowed: false, retryAfterMs: 500 });
    await emptyAheadOfTime('empty-fast');
    expect(await limiter.take('empty-fast', 4, 3)).toEqual({ allowed: false, retryAfterMs: 250 });
  });
});
