import { makeImage } from '@image-cloud/imaging/testing';
import { type OriginServer, type SlowDrip, serveSlowDrip, startOriginServer } from '@image-cloud/testing';
import { submitBatch, waitForBatch } from './prefetch-batches';
import { type Tracked, track, waitUntil } from './settled';
import { type SystemUnderTest, startSystem } from './system-under-test';

/**
 * Slow origins must not hold render slots: with one normal worker running one job at a time and
 * four downloads dripping from a slow domain (two waited for, two prefetched), a miss on a fast
 * domain is served while the slow downloads are still open. The assertion is on order, not time:
 * if the fast miss had to wait for a slot held by a download, it could only finish after one of
 * the slow downloads ended.
 */

/** How long a slow download stays open before the fetcher gives up (fetch.totalTimeoutMs). */
const SLOW_DOWNLOAD_MS = 8_000;

let system: SystemUnderTest;
let slowOrigin: OriginServer;
let drip: SlowDrip;

beforeAll(async () => {
  system = await startSystem({
    name: 'slow-origin-isolation',
    config: {
      // 127.0.0.2 is the slow domain; its cap lets all four downloads be open at once.
      domains: { '127.0.0.2': 10 },
      fetch: { connectTimeoutMs: 1_000, responseTimeoutMs: 1_500, totalTimeoutMs: SLOW_DOWNLOAD_MS },
      server: { waitTimeoutMs: 30_000, pollIntervalMs: 200 },
      worker: { concurrency: 1, asyncAttempts: 1 },
    },
  });
  slowOrigin = await startOriginServer({ host: '127.0.0.2' });
  drip = serveSlowDrip(slowOrigin);
  system.origin.serveBytes('fast.jpg', await makeImage({ width: 800, height: 600 }), 'image/jpeg');
}, 30_000);

afterAll(async () => {
  drip?.stop();
  await slowOrigin?.close();
  await system?.stop();
});

it('serves a miss on a fast domain while four slow downloads are still open', async () => {
  const slowUrl = (i: number) => slowOrigin.url(`${drip.path}?i=${i}`);
  const waited: Tracked[] = [1, 2].map((i) => track(system.request(`/get_image?${new URLSearchParams({ url: slowUrl(i), resize_width: '200' })}`)));
  const batchId = await submitBatch(system.server.url, [slowUrl(3), slowUrl(4)]);
  const allOpen = await waitUntil(() => slowOrigin.concurrent() >= 4, 3_000);
  const openBeforeFastMiss = slowOrigin.concurrent();

  const started = performance.now();
  const fast = track(system.getImage('/bytes/fast.jpg', { resize_width: '200', resize_height: '200' }));
  const answer = await fast.done;
  const slowStillOpen = slowOrigin.concurrent();
  const slowAnswered = waited.filter((request) => request.endedAt() !== undefined).length;
  console.log(
    `slow-origin isolation: ${openBeforeFastMiss} slow downloads open when the fast miss was sent (all four: ${allOpen}); ` +
      `fast miss ${answer.status} after ${Math.round(fast.endedAt()! - started)} ms; then ${slowStillOpen} slow downloads still open, ` +
      `${slowAnswered} of the 2 waiting slow clients already answered; most slow downloads open at once: ${slowOrigin.maxConcurrent()}`,
  );

  expect(answer.status).toBe(200);
  // The fast miss did not wait behind a download: no slow client had its answer yet, and the
  // slow downloads were still dripping when the fast image arrived.
  expect(slowAnswered).toBe(0);
  expect(slowStillOpen).toBeGreaterThan(0);
  // Downloads do not take render slots, so all four were open at once (the domain cap allows 10).
  expect(slowOrigin.maxConcurrent()).toBe(4);

  // Clean end: every slow download fails once the origin goes away, and the batch completes.
  drip.stop();
  const slowStatuses = await Promise.all(waited.map(async (request) => (await request.done).status));
  expect(slowStatuses.every((status) => status >= 500)).toBe(true);
  expect(await waitForBatch(system.server.url, batchId, 20_000)).toMatchObject({ complete: true, pending: 0 });
}, 60_000);
