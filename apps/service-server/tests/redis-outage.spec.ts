import { setTimeout as sleep } from 'node:timers/promises';
import { makeImage } from '@image-cloud/imaging/testing';
import { freePort } from '@image-cloud/testing';
import { OwnRedis } from './own-redis';
import { type SystemUnderTest, bodyOf, startSystem } from './system-under-test';

/** Redis goes away and comes back: 503 `unavailable` fast, cached images still served, recovery without help. */

let redis: OwnRedis;
let system: SystemUnderTest;

const startRedis = () => redis.start();
const stopRedis = () => redis.stop();

beforeAll(async () => {
  redis = new OwnRedis(await freePort());
  await startRedis();
  system = await startSystem({ name: 'redis-outage', redisUrl: redis.url });
  system.origin.serveBytes('before.jpg', await makeImage({ width: 300, height: 200 }), 'image/jpeg');
  system.origin.serveBytes('during.jpg', await makeImage({ width: 300, height: 200 }), 'image/jpeg');
  system.origin.serveBytes('after.jpg', await makeImage({ width: 300, height: 200 }), 'image/jpeg');
}, 30_000);

afterAll(async () => {
  await system?.stop();
  await redis?.stop();
});

it('answers 503 unavailable fast while Redis is down, serves cached images, and recovers by itself', async () => {
  const before = await system.getImage('/bytes/before.jpg', { resize_width: '100' });
  expect(before.status).toBe(200);
  await bodyOf(before);

  await stopRedis();

  const started = Date.now();
  const during = await system.getImage('/bytes/during.jpg', { resize_width: '100' });
  expect(Date.now() - started).toBeLessThan(1_000);
  expect(during.status).toBe(503);
  expect(await during.json()).toMatchObject({ error: 'unavailable' });
  expect(during.headers.get('retry-after')).toBeTruthy();
  expect(during.headers.get('cache-control')).toMatch(/max-age=(6\d|[7-9]\d|\d{3,})/);

  const cached = await system.getImage('/bytes/before.jpg', { resize_width: '100' });
  expect(cached.status).toBe(200);
  expect(cached.headers.get('x-cache')).toBe('HIT');
  await bodyOf(cached);
  expect((await system.request('/readyz')).status).toBe(503);
  expect((await system.request('/healthz')).status).toBe(200);

  await startRedis();

  // Connections come back by themselves; workers announce themselves again on their next heartbeat.
  const until = Date.now() + 20_000;
  let status = 0;
  while (Date.now() < until) {
    const response = await system.getImage('/bytes/after.jpg', { resize_width: '100' });
    status = response.status;
    await bodyOf(response);
    if (status === 200) break;
    await sleep(500);
  }
  expect(status).toBe(200);
  expect((await system.request('/readyz')).status).toBe(200);
}, 60_000);

it('answers 503 for batch progress and delete_image while Redis is down, and deletes nothing then', async () => {
  const kept = await system.getImage('/bytes/before.jpg', { resize_width: '120' });
  expect(kept.status).toBe(200);
  await bodyOf(kept);
  const submitted = await system.request('/fire_and_forget', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ urls: [system.origin.url('/bytes/during.jpg')] }),
  });
  expect(submitted.status).toBe(202);
  const { batchId } = (await submitted.json()) as { batchId: string };

  await stopRedis();

  const progress = await system.request(`/fire_and_forget/${batchId}`);
  expect(progress.status).toBe(503);
  expect(await progress.json()).toMatchObject({ error: 'unavailable' });
  expect(progress.headers.get('retry-after')).toBeTruthy();

  const deleted = await system.request(`/delete_image?${new URLSearchParams({ url: system.origin.url('/bytes/before.jpg') })}`, { method: 'DELETE' });
  expect(deleted.status).toBe(503);
  expect(await deleted.json()).toMatchObject({ error: 'unavailable' });
  // The refused delete removed nothing: the image is still a hit.
  const still = await system.getImage('/bytes/before.jpg', { resize_width: '120' });
  expect(still.status).toBe(200);
  expect(still.headers.get('x-cache')).toBe('HIT');
  await bodyOf(still);

  await startRedis();
  const until = Date.now() + 20_000;
  let status = 0;
  while (Date.now() < until) {
    const response = await system.request(`/delete_image?${new URLSearchParams({ url: system.origin.url('/bytes/before.jpg') })}`, { method: 'DELETE' });
    status = response.status;
    await bodyOf(response);
    if (status === 200) break;
    await sleep(500);
  }
  expect(status).toBe(200);
}, 60_000);
