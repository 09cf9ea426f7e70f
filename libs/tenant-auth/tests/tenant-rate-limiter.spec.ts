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
    // The wait until the next token: positive, and never more than one token's interval (2/s → 500 ms),
    // whatever time passed between the takes.
    if (!refused.allowed) expect(refused.retryAfterMs).toBeGreaterThan(0);
    if (!refused.allowed) expect(refused.retryAfterMs).toBeLessThanOrEqual(500);
    expect(await limiter.take('other', 2, 3)).toEqual({ allowed: true });
  });
});
