import { setTimeout as sleep } from 'node:timers/promises';
import { renderJobFor } from '@image-cloud/contracts';
import { makeImage, makeNoiseImage } from '@image-cloud/imaging/testing';
import { RenderQueues, createFailFastConnection } from '@image-cloud/job-queue';
import { TEST_REDIS_URL } from '@image-cloud/testing';
import type { Redis } from 'ioredis';
import { type SystemUnderTest, bodyOf, startSystem } from './system-under-test';

/** Policy 5: when the backlog means a request cannot finish in time, answer 503 at once, cacheably. */

let system: SystemUnderTest;
let producer: Redis;
let queues: RenderQueues;

beforeAll(async () => {
  system = await startSystem({ name: 'overload', config: { worker: { concurrency: 1 }, server: { overloadWaitMs: 1_000 } } });
  producer = createFailFastConnection(TEST_REDIS_URL, 'overload-spec');
  queues = new RenderQueues(producer, system.config.queuePrefix, 1);
  system.origin.route('/slow-original', async (_req, res) => {
    await sleep(400);
    res.writeHead(200, { 'content-type': 'image/jpeg' }).end(await makeImage({ width: 32, height: 32 }));
  });
  system.origin.serveBytes('wanted.jpg', await makeImage({ width: 300, height: 200 }), 'image/jpeg');
  system.origin.serveBytes('wanted-auto.jpg', await makeImage({ width: 300, height: 200 }), 'image/jpeg');
  system.origin.serveBytes('heavy.jpg', await makeNoiseImage(2000, 2000), 'image/jpeg');
  await bodyOf(await system.getImage('/bytes/heavy.jpg'));
}, 30_000);

/** Fills the normal lane with slow renders (large WebPs of a stored noisy original) ahead of anything new. */
async function queueSlowRenders(tag: number): Promise<void> {
  const url = system.origin.url('/bytes/heavy.jpg');
  for (let i = 0; i < 30; i++) await queues.ensureQueued(renderJobFor(url, 'sync-normal', { width: 1500 + tag + i, fit: 'inside', format: 'webp' }));
}

afterAll(async () => {
  await queues.queue('normal').obliterate({ force: true }).catch(() => undefined);
  await queues.close();
  producer.disconnect();
  await system?.stop();
});

it('answers 503 overloaded at once, with Retry-After and a cacheable minute, and queues nothing for it', async () => {
  await queueSlowRenders(0);
  await sleep(300);
  const waitingBefore = await queues.waitingCount('sync-normal');

  const response = await system.getImage('/bytes/wanted.jpg', { resize_width: '100' });
  expect(response.status).toBe(503);
  expect(await response.json()).toMatchObject({ error: 'overloaded', message: expect.stringMatching(/busy/) });
  const retryAfter = Number(response.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  const maxAge = Number(/max-age=(\d+)/.exec(response.headers.get('cache-control') ?? '')?.[1]);
  expect(maxAge).toBeGreaterThanOrEqual(60);

  expect(await queues.waitingCount('sync-normal')).toBeLessThanOrEqual(waitingBefore);
  expect(system.origin.hits('/bytes/wanted.jpg')).toBe(0);
}, 30_000);

it('refuses a negotiated miss before the alpha check downloads its original', async () => {
  await queueSlowRenders(50);
  await sleep(300);
  // Accepting neither AVIF nor WebP, the answer depends on alpha, which needs the original's header.
  const response = await system.getImage('/bytes/wanted-auto.jpg', { resize_width: '100', format_when_resize: 'auto' }, { headers: { accept: 'image/jpeg' } });
  expect(response.status).toBe(503);
  expect(await response.json()).toMatchObject({ error: 'overloaded' });
  expect(response.headers.get('vary')).toBe('Accept');
  expect(system.origin.hits('/bytes/wanted-auto.jpg')).toBe(0);
  await queues.queue('normal').obliterate({ force: true });
}, 30_000);

it('still serves cached images while overloaded', async () => {
  await queues.queue('normal').obliterate({ force: true });
  await sleep(600);
  const first = await system.getImage('/bytes/wanted.jpg');
  expect(first.status).toBe(200);
  await bodyOf(first);
  await queueSlowRenders(100);
  await sleep(300);
  const hit = await system.getImage('/bytes/wanted.jpg');
  expect(hit.status).toBe(200);
  expect(hit.headers.get('x-cache')).toBe('HIT');
  await bodyOf(hit);
}, 30_000);

it('answers 503 when no worker serves the lane', async () => {
  await queues.queue('normal').obliterate({ force: true });
  await system.worker.close(1_000);
  await sleep(300);
  const response = await system.getImage('/bytes/wanted.jpg', { resize_width: '77' });
  expect(response.status).toBe(503);
  expect(await response.json()).toMatchObject({ error: 'overloaded', message: expect.stringMatching(/No image worker/) });
}, 30_000);
