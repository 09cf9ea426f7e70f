import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import IORedis, { type Redis } from 'ioredis';
import { TEST_REDIS_URL, deleteKeysWithPrefix, uniquePrefix } from '@image-cloud/testing';
import { TenantRateLimiter } from '../src';
import { largestLease } from '../src/tenant-rate-limiter';

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

  it('keeps two processes sharing one bucket within burst + rate × t + processes × lease size', async () => {
    const [rate, burst] = [1000, 100];
    const lease = largestLease(rate, burst);
    expect(lease).toBe(10);
    // Two limiters on two connections: two server processes, as far as the bucket can tell.
    const connections = [new IORedis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 }), new IORedis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 })];
    const limiters = connections.map((connection) => new TenantRateLimiter(connection, prefix));
    /** Seconds on Redis's clock, the bucket's clock. */
    const redisSeconds = async () => {
      const [seconds, micros] = await redis.time();
      return Number(seconds) + Number(micros) / 1e6;
    };
    let stopped = false;
    let counting = false;
    const total = { allowed: 0, refused: 0 };
    let allowedInWindow = 0;
    // Three concurrent request loops per process, each far faster than the tenant's rate.
    const hammer = async (limiter: TenantRateLimiter) => {
      while (!stopped) {
        const decision = await limiter.take('shared', rate, burst);
        if (decision.allowed) {
          total.allowed++;
          if (counting) allowedInWindow++;
        } else total.refused++;
        await nextTurn();
      }
    };
    try {
      const started = await redisSeconds();
      const loops = limiters.flatMap((limiter) => [hammer(limiter), hammer(limiter), hammer(limiter)]);
      // The window opens mid-stream, while both processes hold leased tokens.
      await sleep(300);
      const windowStart = await redisSeconds();
      counting = true;
      await sleep(500);
      counting = false;
      const windowEnd = await redisSeconds();
      stopped = true;
      await Promise.all(loops);
      const ended = await redisSeconds();

      // The bucket's clock counts whole milliseconds: up to one more millisecond of tokens.
      const roundingSlack = rate / 1000;
      expect(total.refused).toBeGreaterThan(0);
      expect(total.allowed).toBeGreaterThanOrEqual(burst);
      // From a full bucket and nothing leased: the bound without leases.
      expect(total.allowed).toBeLessThanOrEqual(burst + rate * (ended - started) + roundingSlack);
      expect(allowedInWindow).toBeLessThanOrEqual(burst + rate * (windowEnd - windowStart) + 2 * lease + roundingSlack);
    } finally {
      stopped = true;
      for (const connection of connections) connection.disconnect();
    }
  });
});
