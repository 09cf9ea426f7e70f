import { makeImage } from '@image-cloud/imaging/testing';
import IORedis from 'ioredis';
import { freePort } from '@image-cloud/testing';
import { OwnRedis } from './own-redis';
import { type SystemUnderTest, bodyOf, startSystem } from './system-under-test';

/**
 * Redis at maxmemory (noeviction) refuses writes but still answers reads and PING: rate limits
 * still hold, readiness says so, and nothing is queued. Then Redis goes away entirely: the limit
 * cannot be checked, so a tenant gets hits only (fail closed for misses and prefetches).
 */

const FILLER_TOKEN = 'filler-token-0123456789';
const LIMITED_TOKEN = 'limited-token-0123456789';
let redis: OwnRedis;
let system: SystemUnderTest;

beforeAll(async () => {
  redis = new OwnRedis(await freePort(), ['--maxmemory-policy', 'noeviction']);
  await redis.start();
  system = await startSystem({
    name: 'redis-maxmemory',
    redisUrl: redis.url,
    config: {
      tenants: {
        filler: { token: FILLER_TOKEN, requestsPerSecond: 1000, burst: 1000 },
        // Five requests, then one every 1000 s: no token comes back during the test.
        limited: { token: LIMITED_TOKEN, requestsPerSecond: 0.001, burst: 5 },
      },
    },
  });
  for (const name of ['cached.jpg', 'missing.jpg']) system.origin.serveBytes(name, await makeImage({ width: 300, height: 200 }), 'image/jpeg');
}, 30_000);

afterAll(async () => {
  // Workers and server close cleanly against a Redis (an empty one: nothing was persisted).
  if (redis && !redis.running) await redis.start();
  await system?.stop();
  await redis?.stop();
});

const asTenant = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

/**
 * Fills Redis with 1 MB of data, then puts maxmemory below what it uses, so every write is refused
 * (a Redis just at the edge would take small writes again as soon as a buffer is freed).
 */
async function fillRedis(): Promise<void> {
  const admin = new IORedis(redis.url, { maxRetriesPerRequest: 1 });
  try {
    for (let i = 0; i < 16; i++) await admin.set(`${system.config.queuePrefix}:filler:${i}`, 'x'.repeat(64 * 1024));
    const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);
    await admin.config('SET', 'maxmemory', String(used - 256 * 1024));
    await expect(admin.set(`${system.config.queuePrefix}:filler:last`, 'x')).rejects.toThrow(/OOM/);
  } finally {
    admin.disconnect();
  }
}

it('keeps rate limits, refuses misses and reports not ready while Redis is at maxmemory; fails closed without Redis', async () => {
  const warm = await system.getImage('/bytes/cached.jpg', { resize_width: '100' }, asTenant(FILLER_TOKEN));
  expect(warm.status).toBe(200);
  await bodyOf(warm);

  await fillRedis();

  const ready = await system.request('/readyz');
  expect(ready.status).toBe(503);
  expect(((await ready.json()) as { message: string }).message).toMatch(/maxmemory/);

  const statuses: number[] = [];
  for (let i = 0; i < 10; i++) {
    const response = await system.getImage('/bytes/cached.jpg', { resize_width: '100' }, asTenant(LIMITED_TOKEN));
    statuses.push(response.status);
    await bodyOf(response);
  }
  expect(statuses.filter((status) => status === 200).length).toBeLessThanOrEqual(5);
  expect(statuses.slice(5).every((status) => status === 429)).toBe(true);

  const miss = await system.getImage('/bytes/missing.jpg', { resize_width: '100' }, asTenant(FILLER_TOKEN));
  expect(miss.status).toBe(503);
  expect(await miss.json()).toMatchObject({ error: 'unavailable' });
  expect(miss.headers.get('retry-after')).toBeTruthy();

  await redis.stop();

  const hit = await system.getImage('/bytes/cached.jpg', { resize_width: '100' }, asTenant(FILLER_TOKEN));
  expect(hit.status).toBe(200);
  await bodyOf(hit);
  const refusedMiss = await system.getImage('/bytes/missing.jpg', { resize_width: '100' }, asTenant(FILLER_TOKEN));
  expect(refusedMiss.status).toBe(503);
  expect(refusedMiss.headers.get('retry-after')).toBeTruthy();
  expect(((await refusedMiss.json()) as { message: string }).message).toMatch(/rate limit/);
  const refusedPrefetch = await system.request('/fire_and_forget', {
    method: 'POST',
    headers: { authorization: `Bearer ${FILLER_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ urls: [system.origin.url('/bytes/missing.jpg')] }),
  });
  expect(refusedPrefetch.status).toBe(503);
  expect(((await refusedPrefetch.json()) as { message: string }).message).toMatch(/rate limit/);
}, 60_000);
