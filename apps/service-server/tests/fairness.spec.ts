import { makeImage } from '@image-cloud/imaging/testing';
import { batchProgress, submitBatch, waitForBatch } from './prefetch-batches';
import { type SystemUnderTest, startSystem } from './system-under-test';

/** Policy 4: one tenant's prefetch flood cannot starve another tenant's prefetch. */

const A = 'tenant-a-token-0123456789';
const B = 'tenant-b-token-0123456789';
let system: SystemUnderTest;

beforeAll(async () => {
  system = await startSystem({
    name: 'fairness',
    config: {
      tenants: { a: { token: A, requestsPerSecond: 1000, burst: 1000 }, b: { token: B, requestsPerSecond: 1000, burst: 1000 } },
      worker: { concurrency: 1 },
    },
  });
  system.origin.serveBytes('f.jpg', await makeImage({ width: 64, height: 48 }), 'image/jpeg');
}, 30_000);

afterAll(async () => {
  await system?.stop();
});

const submit = (token: string, urls: string[]) => submitBatch(system.server.url, urls, token);

it("serves tenant B's small batch long before tenant A's big one, though A came first", async () => {
  const batchA = await submit(A, Array.from({ length: 5_000 }, (_, i) => system.origin.url(`/bytes/f.jpg?a=${i}`)));
  const batchB = await submit(B, Array.from({ length: 50 }, (_, i) => system.origin.url(`/bytes/f.jpg?b=${i}`)));

  const b = await waitForBatch(system.server.url, batchB, 50_000, B);
  const a = await batchProgress(system.server.url, batchA, A);
  expect(b).toMatchObject({ accepted: 50, done: 50, complete: true });
  // Round-robin: B needed about 50 of A's jobs to interleave with, not all 5 000 before it.
  expect(a.complete).toBe(false);
  expect(a.done).toBeLessThan(a.accepted / 10);
}, 60_000);

it("keeps one tenant from reading another tenant's batch", async () => {
  const batchB = await submit(B, [system.origin.url('/bytes/f.jpg?private=1')]);
  const response = await system.request(`/fire_and_forget/${batchB}`, { headers: { authorization: `Bearer ${A}` } });
  expect(response.status).toBe(403);
});
