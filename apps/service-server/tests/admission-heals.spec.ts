import { makeImage } from '@image-cloud/imaging/testing';
import { TEST_REDIS_URL } from '@image-cloud/testing';
import { queuedJobs } from './queued-jobs';
import { waitUntil } from './settled';
import { type SystemUnderTest, startSystem } from './system-under-test';

/**
 * Admission (503 overloaded) must heal by itself: requests that fail slowly (origin timeouts) must
 * not leave the server refusing new work once nothing is queued any more. An idle cluster has
 * nothing ahead of a new miss, so answering it 503 overloaded is a bug, whatever the estimate says.
 */

/** The origin's headers never come in time: each failing job takes this long (fetch.responseTimeoutMs). */
const ORIGIN_TIMEOUT_MS = 2_500;
/** Well below how long a failing job takes, well above a fast miss. */
const OVERLOAD_WAIT_MS = 1_000;

let system: SystemUnderTest;

beforeAll(async () => {
  system = await startSystem({
    name: 'admission-heals',
    config: {
      fetch: { connectTimeoutMs: 1_000, responseTimeoutMs: ORIGIN_TIMEOUT_MS, totalTimeoutMs: 10_000 },
      server: { waitTimeoutMs: 20_000, pollIntervalMs: 200, overloadWaitMs: OVERLOAD_WAIT_MS },
      worker: { concurrency: 2 },
    },
  });
  system.origin.serveBytes('fresh.jpg', await makeImage({ width: 800, height: 600 }), 'image/jpeg');
}, 30_000);

afterAll(async () => {
  await system?.stop();
});

/** A miss on the fast origin; a 503 overloaded while nothing is queued or running fails the test as a bug. */
async function freshMiss(i: number): Promise<number> {
  const response = await system.getImage(`/bytes/fresh.jpg?i=${i}`, { resize_width: '200', resize_height: '200' });
  const body = (await response.json().catch(() => ({}))) as { error?: string; message?: string };
  if (response.status === 503 && body.error === 'overloaded') {
    const queued = await queuedJobs(TEST_REDIS_URL, system.config.queuePrefix);
    if (queued === 0) throw new Error(`503 overloaded with an empty queue is a bug (miss ${i}: "${body.message}")`);
  }
  return response.status;
}

it('serves a fresh miss once the slow failures are over and the queue is empty', async () => {
  // Admission works before: a fast miss is served.
  expect(await freshMiss(0)).toBe(200);

  // Four requests whose origin never answers in time: each job runs ORIGIN_TIMEOUT_MS and fails.
  const failing = await Promise.all(
    [1, 2, 3, 4].map(async (i) => {
      const response = await system.getImage(`/slow?ms=60000&i=${i}`, { resize_width: '200' });
      return { status: response.status, error: ((await response.json()) as { error: string }).error };
    }),
  );
  expect(failing).toEqual(Array(4).fill({ status: 504, error: 'origin_timeout' }));

  // Nothing is queued or running any more.
  expect(await waitUntil(async () => (await queuedJobs(TEST_REDIS_URL, system.config.queuePrefix)) === 0, 5_000)).toBe(true);

  // So fresh misses are admitted and served, one after another.
  const statuses: number[] = [];
  for (let i = 1; i <= 3; i++) statuses.push(await freshMiss(i));
  expect(statuses).toEqual([200, 200, 200]);
}, 60_000);
