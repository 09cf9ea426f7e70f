import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import IORedis, { type Redis } from 'ioredis';
import { uniquePrefix } from '@image-cloud/testing';
import { LEASE_LIFETIME_MS, TenantRateLimiter, largestLease } from '../src/tenant-rate-limiter';
import { OwnRedisServer } from './own-redis-server';

/**
 * Leases counted in Redis commands: a redis-server of this file's own, so INFO commandstats holds
 * this file's script calls only. Each test uses its own tenant (its own bucket).
 */

const prefix = uniquePrefix('tenant-rate-limiter-leases');
let server: OwnRedisServer;
let redis: Redis;
let limiter: TenantRateLimiter;

beforeAll(async () => {
  server = await OwnRedisServer.start();
  redis = new IORedis(server.url, { maxRetriesPerRequest: 1 });
  limiter = new TenantRateLimiter(redis, prefix);
  // The script's first call on a connection is EVALSHA then EVAL (Redis does not know it yet):
  // made here, so the tests below count one call per lease.
  await limiter.take('warm-up', 1, 1);
});

afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

/** Script calls made while `work` runs. */
async function scriptCallsDuring(work: () => Promise<unknown>): Promise<number> {
  const before = await server.scriptCalls();
  await work();
  return (await server.scriptCalls()) - before;
}

async function tokensInBucket(tenant: string): Promise<number> {
  return Number(await redis.hget(`${prefix}:rate:${tenant}`, 'tokens'));
}

describe('TenantRateLimiter leases (own Redis, commands counted)', () => {
  it('makes at most 1000 / lease size (+ the slow start) Redis calls for 1 000 takes at a high rate', async () => {
    const lease = largestLease(1000, 1000);
    expect(lease).toBe(50);
    let allowed = 0;
    const calls = await scriptCallsDuring(async () => {
      for (let i = 0; i < 1000; i++) if ((await limiter.take('busy', 1000, 1000)).allowed) allowed++;
    });
    expect(allowed).toBe(1000);
    // Slow start 1, 2, 4, 8, 16, 32, then leases of 50: 6 + 19 = 25 calls.
    expect(calls).toBeLessThanOrEqual(1000 / lease + 6);
  });

  it('shares one lease call among concurrent takes, and leases again only for the takes it could not serve', async () => {
    const twenty = await scriptCallsDuring(async () => {
      const decisions = await Promise.all(Array.from({ length: 20 }, () => limiter.take('crowd', 1000, 1000)));
      expect(decisions.every((decision) => decision.allowed)).toBe(true);
    });
    expect(twenty).toBe(1);
    // 120 at once with leases of at most 50: 50 + 50 + 20 (of a third lease of 50).
    const many = await scriptCallsDuring(async () => {
      const decisions = await Promise.all(Array.from({ length: 120 }, () => limiter.take('crowd-2', 1000, 1000)));
      expect(decisions.every((decision) => decision.allowed)).toBe(true);
    });
    expect(many).toBe(3);
  });

  it('takes a low-rate tenant exactly as before: one Redis call per request, the third of burst 2 refused with the wait', async () => {
    expect(largestLease(1, 2)).toBe(1);
    const decisions: Awaited<ReturnType<TenantRateLimiter['take']>>[] = [];
    const calls = await scriptCallsDuring(async () => {
      for (let i = 0; i < 3; i++) decisions.push(await limiter.take('slow', 1, 2));
    });
    expect(calls).toBe(3);
    expect(decisions.slice(0, 2)).toEqual([{ allowed: true }, { allowed: true }]);
    const refused = decisions[2]!;
    expect(refused.allowed).toBe(false);
    // The wait is the one Redis computed from the bucket it left: the time to earn the missing part of a token.
    const tokens = await tokensInBucket('slow');
    expect(tokens).toBeLessThan(1);
    if (!refused.allowed) expect(refused.retryAfterMs).toBe(Math.ceil(((1 - tokens) * 1000) / 1));
  });

  it('refuses by itself until the time Redis named, without another call', async () => {
    const [seconds] = await redis.time();
    // An empty bucket last updated an hour ahead of Redis's clock: no token comes back during the test.
    await redis.hset(`${prefix}:rate:refused`, { tokens: '0', at: String((Number(seconds) + 3_600) * 1000) });
    let first;
    let again;
    const calls = await scriptCallsDuring(async () => {
      first = await Promise.all([1, 2, 3].map(() => limiter.take('refused', 4, 3)));
      again = await limiter.take('refused', 4, 3);
    });
    expect(calls).toBe(1);
    expect(first).toEqual([1, 2, 3].map(() => ({ allowed: false, retryAfterMs: 250 })));
    expect(again).toMatchObject({ allowed: false });
    expect((again as unknown as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0);
    expect((again as unknown as { retryAfterMs: number }).retryAfterMs).toBeLessThanOrEqual(250);
  });

  it('lets leased tokens lapse: after the lease lifetime a take asks Redis again', async () => {
    // Slow start: a lease of 1, then one of 2 whose second token is left over.
    await limiter.take('lapsing', 1000, 1000);
    await limiter.take('lapsing', 1000, 1000);
    expect(await scriptCallsDuring(() => limiter.take('lapsing', 1000, 1000))).toBe(0);
    await limiter.take('lapsing', 1000, 1000); // a lease of 4: three left over
    await sleep(LEASE_LIFETIME_MS + 50);
    expect(await scriptCallsDuring(() => limiter.take('lapsing', 1000, 1000))).toBe(1);
  });

  it('rejects when Redis is gone, leased tokens or not, so the caller serves only hits', async () => {
    const doomed = await OwnRedisServer.start();
    const outage = new IORedis(doomed.url, { maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
    outage.on('error', () => undefined);
    try {
      await once(outage, 'ready');
      const cut = new TenantRateLimiter(outage, prefix);
      for (let i = 0; i < 4; i++) await cut.take('cut-off', 1000, 1000); // leases of 1, 2, 4: three left over
      await doomed.stop();
      while (outage.status === 'ready') await sleep(10);
      await expect(cut.take('cut-off', 1000, 1000)).rejects.toThrow();
    } finally {
      // Once ended, disconnect() would only leave ioredis's 2 s stream timer behind.
      if (outage.status !== 'end') outage.disconnect();
      await doomed.stop();
    }
  });
});
