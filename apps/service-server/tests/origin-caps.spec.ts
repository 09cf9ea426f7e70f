import { type OriginServer, startOriginServer } from '@image-cloud/testing';
import { waitForBatch, submitBatch } from './prefetch-batches';
import { type SystemUnderTest, startSystem } from './system-under-test';

/**
 * Policy 6: per-domain caps on parallel downloads. Three origins on three loopback addresses are
 * three domains: 127.0.0.2 ("a", cap 2), 127.0.0.3 ("b", cap 5) and the system's own 127.0.0.1
 * (the default, 3). Twelve job slots are more than the caps allow together, so the caps, not the
 * workers, are what limit the downloads.
 */

const CAPS = { a: 2, b: 5, default: 3 };
let system: SystemUnderTest;
let originA: OriginServer;
let originB: OriginServer;

beforeAll(async () => {
  originA = await startOriginServer({ host: '127.0.0.2' });
  originB = await startOriginServer({ host: '127.0.0.3' });
  system = await startSystem({
    name: 'origin-caps',
    config: {
      domains: { default: CAPS.default, '127.0.0.2': CAPS.a, '127.0.0.3': CAPS.b },
      worker: { concurrency: 12 },
      server: { waitTimeoutMs: 15_000, pollIntervalMs: 200, overloadWaitMs: 600_000 },
    },
  });
}, 60_000);

afterAll(async () => {
  await system?.stop();
  await originA?.close();
  await originB?.close();
});

it('never exceeds any domain cap while a 10 000-URL prefetch mixed across three domains completes', async () => {
  // Every URL is distinct (so each is one download). Each origin answers slowly enough that its cap,
  // not the speed of the workers, limits it: cap ÷ answer time = 100 downloads/s for each.
  const origins = [
    { server: system.origin, answerMs: 30 },
    { server: originA, answerMs: 20 },
    { server: originB, answerMs: 50 },
  ];
  const urls = Array.from({ length: 10_000 }, (_, i) => {
    const { server, answerMs } = origins[i % 3]!;
    return server.url(`/slow?ms=${answerMs}&n=${i}`);
  });
  const batchId = await submitBatch(system.server.url, urls);
  const progress = await waitForBatch(system.server.url, batchId, 300_000);

  expect(progress).toMatchObject({ accepted: 10_000, done: 10_000, pending: 0, complete: true, failed: {} });
  expect(originA.maxConcurrent()).toBeLessThanOrEqual(CAPS.a);
  expect(originB.maxConcurrent()).toBeLessThanOrEqual(CAPS.b);
  expect(system.origin.maxConcurrent()).toBeLessThanOrEqual(CAPS.default);
  // The caps were reached, so the limit was tested, and every URL was downloaded exactly once.
  expect([originA.maxConcurrent(), originB.maxConcurrent(), system.origin.maxConcurrent()]).toEqual([CAPS.a, CAPS.b, CAPS.default]);
  expect([system.origin.hits(), originA.hits(), originB.hits()]).toEqual([3_334, 3_333, 3_333]);
  const parked = system.jobEvents.filter((event) => event.outcome === 'parked').length;
  console.log(`origin caps: 10 000 URLs, max concurrency a=${originA.maxConcurrent()} b=${originB.maxConcurrent()} default=${system.origin.maxConcurrent()}, ${parked} waits parked`);
}, 330_000);
