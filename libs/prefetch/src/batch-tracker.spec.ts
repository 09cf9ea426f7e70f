import IORedis from 'ioredis';
import { fetchJobFor, fetchJobIdOf } from '@image-cloud/contracts';
import { FetchQueue } from '@image-cloud/job-queue';
import { TEST_REDIS_URL, deleteKeysWithPrefix, uniquePrefix } from '@image-cloud/testing';
import { BatchTracker } from './batch-tracker';

/** Batch progress against the real Redis, with real BullMQ job hashes. */

const prefix = uniquePrefix('batch-tracker');
let redis: IORedis;
let queue: FetchQueue;

beforeAll(() => {
  redis = new IORedis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  queue = new FetchQueue(redis, prefix, 3);
});

afterAll(async () => {
  await queue.close();
  await deleteKeysWithPrefix(TEST_REDIS_URL, prefix);
  redis.disconnect();
});

/** Queues a prefetch of `url` for `batchId` and returns its BullMQ hash, as the fetch worker names it. */
async function queuedJobKey(url: string, batchId: string): Promise<string> {
  const job = fetchJobFor(url, 'async', { batchId });
  await queue.enqueueBulk([job], { fairShareKey: 'a' });
  const [key] = await redis.keys(`${prefix}:*:${fetchJobIdOf(job)}`);
  expect(key).toBeDefined();
  return key!;
}

it('counts a job that runs to its end twice (a failover, a stalled lock) once, and the same URL in a later batch again', async () => {
  const batches = new BatchTracker(redis, prefix);
  await batches.create('first', 'a', { total: 2, accepted: 2, duplicate: 0, rejected: 0 });
  const doneJob = await queuedJobKey('https://origin.example/done.jpg', 'first');
  const failedJob = await queuedJobKey('https://origin.example/failed.jpg', 'first');

  expect(await batches.finished('first', { ok: true }, doneJob)).toBe(true);
  expect(await batches.finished('first', { ok: true }, doneJob)).toBe(false);
  expect(await batches.progress('first')).toMatchObject({ done: 1, pending: 1, complete: false });
  expect(await batches.finished('first', { ok: false, code: 'origin_error' }, failedJob)).toBe(true);
  expect(await batches.finished('first', { ok: false, code: 'origin_error' }, failedJob)).toBe(false);
  expect(await batches.progress('first')).toMatchObject({ done: 1, failed: { origin_error: 1 }, pending: 0, complete: true });

  // The job is removed once finished; a later batch queues the same URL under the same id.
  await redis.del(doneJob);
  await batches.create('second', 'a', { total: 1, accepted: 1, duplicate: 0, rejected: 0 });
  const again = await queuedJobKey('https://origin.example/done.jpg', 'second');
  expect(again).toBe(doneJob);
  expect(await batches.finished('second', { ok: true }, again)).toBe(true);
  expect(await batches.progress('second')).toMatchObject({ done: 1, complete: true });
});

it("releases the job's download lease in the same call, only for its owner, even when the end was counted already", async () => {
  const batches = new BatchTracker(redis, prefix);
  await batches.create('leased', 'a', { total: 2, accepted: 2, duplicate: 0, rejected: 0 });
  const jobKey = await queuedJobKey('https://origin.example/leased.jpg', 'leased');
  const leaseKey = `${prefix}:lease-under-test`;
  const lease = { key: leaseKey, token: 'mine', release: async () => undefined };

  await redis.set(leaseKey, 'mine', 'PX', 30_000);
  expect(await batches.finished('leased', { ok: true }, jobKey, lease)).toBe(true);
  expect(await redis.exists(leaseKey)).toBe(0);
  expect(await batches.progress('leased')).toMatchObject({ done: 1, pending: 1 });

  // Counted already (a second run of the job's end): the lease it holds is freed all the same.
  await redis.set(leaseKey, 'mine', 'PX', 30_000);
  expect(await batches.finished('leased', { ok: true }, jobKey, lease)).toBe(false);
  expect(await redis.exists(leaseKey)).toBe(0);

  // The lease ran out and another download took it: that download keeps it.
  await redis.set(leaseKey, 'another', 'PX', 30_000);
  const otherJobKey = await queuedJobKey('https://origin.example/leased-2.jpg', 'leased');
  expect(await batches.finished('leased', { ok: true }, otherJobKey, lease)).toBe(true);
  expect(await redis.get(leaseKey)).toBe('another');
  expect(await batches.progress('leased')).toMatchObject({ done: 2, pending: 0, complete: true });
});
