import { makeImage } from '@image-cloud/imaging/testing';
import { type OriginServer, TINY_JPEG, startOriginServer } from '@image-cloud/testing';
import { batchProgress, submitBatch, waitForBatch } from './prefetch-batches';
import { type SystemUnderTest, bodyOf, startSystem } from './system-under-test';

/**
 * Policy 6, waiting: a sync request whose domain is saturated waits its turn within its deadline;
 * prefetches for a saturated domain wait without holding a worker slot; a domain answering
 * 429/503 is backed off for its Retry-After. Domain "a" (127.0.0.2) allows one download at once;
 * domain "r" (127.0.0.3) four at once but only ten starts per second.
 */

const SLOT_WAIT_MS = 1_500;
let system: SystemUnderTest;
let originA: OriginServer;
let originR: OriginServer;

beforeAll(async () => {
  originA = await startOriginServer({ host: '127.0.0.2' });
  originR = await startOriginServer({ host: '127.0.0.3' });
  system = await startSystem({
    name: 'origin-waiting',
    config: {
      domains: { default: 4, '127.0.0.2': 1, '127.0.0.3': { maxParallel: 4, perSecond: 10 } },
      worker: { concurrency: 2 },
      fetch: { connectTimeoutMs: 1000, responseTimeoutMs: 5000, totalTimeoutMs: 8000, slotWaitMs: SLOT_WAIT_MS },
    },
  });
  system.origin.serveBytes('w.jpg', await makeImage({ width: 40, height: 30 }), 'image/jpeg');
  originA.serveBytes('w.jpg', await makeImage({ width: 40, height: 30 }), 'image/jpeg');
}, 30_000);

afterAll(async () => {
  await system?.stop();
  await originA?.close();
  await originR?.close();
});

const getImage = (url: string) => system.request(`/get_image?${new URLSearchParams({ url })}`);

it('keeps prefetches for a saturated domain from filling the prefetch slots, so other domains proceed', async () => {
  originA.resetHits();
  const slow = await submitBatch(system.server.url, Array.from({ length: 6 }, (_, i) => originA.url(`/slow?ms=800&parked=${i}`)));
  const fast = await submitBatch(system.server.url, Array.from({ length: 30 }, (_, i) => system.origin.url(`/bytes/w.jpg?other=${i}`)));

  const fastDone = await waitForBatch(system.server.url, fast, 20_000);
  const slowThen = await batchProgress(system.server.url, slow);
  expect(fastDone).toMatchObject({ done: 30, complete: true });
  // a's six downloads take 4.8 s one after another; the other domain's 30 were done long before.
  // Had a's waiting prefetches kept the second worker slot, the 30 would have waited for all six.
  expect(slowThen.done).toBeLessThanOrEqual(3);

  expect(await waitForBatch(system.server.url, slow, 20_000)).toMatchObject({ done: 6, complete: true });
  // a's prefetches waited in their process's line for at most 2 s (a few per domain), then parked
  // as delayed jobs: none held a prefetch slot for the 4.8 s a's six downloads took.
  expect(system.jobEvents.some((event) => event.outcome === 'parked')).toBe(true);
  expect(originA.maxConcurrent()).toBe(1);
}, 45_000);

it('lets sync requests for a saturated domain wait their turn, one download at a time', async () => {
  originA.resetHits();
  const responses = await Promise.all([0, 1, 2].map((i) => getImage(originA.url(`/slow?ms=300&turn=${i}`))));
  expect(responses.map((response) => response.status)).toEqual([200, 200, 200]);
  for (const response of responses) expect((await bodyOf(response)).equals(TINY_JPEG)).toBe(true);
  expect(originA.hits()).toBe(3);
  expect(originA.maxConcurrent()).toBe(1);
}, 30_000);

it("gives a sync request the domain's next free slot before prefetches parked earlier", async () => {
  originA.resetHits();
  const parked = await submitBatch(system.server.url, Array.from({ length: 8 }, (_, i) => originA.url(`/slow?ms=300&queued=${i}`)));
  await waitUntil(() => originA.concurrent() === 1);
  const response = await getImage(originA.url('/slow?ms=10&urgent=1'));
  expect(response.status).toBe(200);
  // At most the download running when it arrived and one more went before it, not all eight.
  expect((await batchProgress(system.server.url, parked)).done).toBeLessThanOrEqual(2);
  expect(await waitForBatch(system.server.url, parked, 20_000)).toMatchObject({ done: 8, complete: true });
  expect(originA.maxConcurrent()).toBe(1);
}, 30_000);

it('answers 504 origin_timeout when the domain stays saturated past the wait, and keeps serving', async () => {
  const holder = getImage(originA.url('/slow?ms=4000&holder=1'));
  await waitUntil(() => originA.concurrent() === 1);
  const started = Date.now();
  const waiting = await getImage(originA.url('/bytes/w.jpg?late=1'));
  expect(waiting.status).toBe(504);
  expect(await waiting.json()).toEqual({
    error: 'origin_timeout',
    message: `Downloads from 127.0.0.2 are limited (1 at once); none could start within ${SLOT_WAIT_MS} ms.`,
  });
  expect(Date.now() - started).toBeGreaterThanOrEqual(SLOT_WAIT_MS);
  expect((await holder).status).toBe(200);
  expect((await getImage(originA.url('/bytes/w.jpg?late=1'))).status).toBe(200);
}, 30_000);

it("backs a domain off for its 429/503 Retry-After: no download from it until then, and sync callers are told when", async () => {
  const hitTimes: number[] = [];
  let answeredBusyAt = 0;
  originA.route('/busy', (_req, res) => {
    answeredBusyAt = Date.now();
    res.writeHead(503, { 'Retry-After': '2', 'Content-Type': 'text/plain' });
    res.end('busy\n');
  });
  originA.route('/after', (_req, res) => {
    hitTimes.push(Date.now());
    res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': TINY_JPEG.length });
    res.end(TINY_JPEG);
  });

  const busy = await getImage(originA.url('/busy'));
  expect(busy.status).toBe(502);
  expect(busy.headers.get('retry-after')).toBe('2');
  expect(await busy.json()).toMatchObject({ error: 'origin_error' });

  // The back-off (2 s) is longer than a sync request may wait for a slot (1.5 s): answered at once.
  const during = await getImage(originA.url('/after?sync=1'));
  expect(during.status).toBe(502);
  expect(Number(during.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(await during.json()).toMatchObject({ error: 'origin_error', message: expect.stringContaining('asked us to slow down') });

  // Prefetches park until the back-off ends, then download.
  const batch = await submitBatch(system.server.url, [0, 1, 2].map((i) => originA.url(`/after?prefetch=${i}`)));
  expect(await waitForBatch(system.server.url, batch, 20_000)).toMatchObject({ done: 3, complete: true });
  expect(hitTimes).toHaveLength(3);
  for (const time of hitTimes) expect(time - answeredBusyAt).toBeGreaterThanOrEqual(1_900);
}, 30_000);

async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > giveUpAt) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

it('spaces the downloads from a domain with a rate, prefetches and sync requests alike', async () => {
  const hitTimes: number[] = [];
  originR.route('/rated', (_req, res) => {
    hitTimes.push(Date.now());
    res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': TINY_JPEG.length });
    res.end(TINY_JPEG);
  });
  const batch = await submitBatch(system.server.url, Array.from({ length: 12 }, (_, i) => originR.url(`/rated?prefetch=${i}`)));
  const sync = await getImage(originR.url('/rated?sync=1'));
  expect(sync.status).toBe(200);
  expect(await waitForBatch(system.server.url, batch, 20_000)).toMatchObject({ done: 12, complete: true });
  expect(hitTimes).toHaveLength(13);
  // Thirteen starts need twelve intervals of 100 ms (less a little for the hop to the origin).
  expect(hitTimes[12]! - hitTimes[0]!).toBeGreaterThanOrEqual(12 * 100 - 50);
}, 30_000);
