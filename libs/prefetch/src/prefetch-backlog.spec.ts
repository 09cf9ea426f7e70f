import IORedis from 'ioredis';
import { fetchJobFor, fetchJobIdOf } from '@image-cloud/contracts';
import { FetchQueue } from '@image-cloud/job-queue';
import { TEST_REDIS_URL, deleteKeysWithPrefix, uniquePrefix } from '@image-cloud/testing';
import { BatchTracker } from './batch-tracker';
import { PrefetchBacklog } from './prefetch-backlog';
import { PrefetchFeeder } from './prefetch-feeder';

/** The compact backlog and its feeder against the real Redis and BullMQ. */

const prefix = uniquePrefix('prefetch-backlog');
let redis: IORedis;
let queue: FetchQueue;

beforeAll(() => {
  redis = new IORedis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  queue = new FetchQueue(redis, prefix, 3);
});

afterEach(async () => {
  await deleteKeysWithPrefix(TEST_REDIS_URL, prefix);
});

afterAll(async () => {
  await queue.close();
  redis.disconnect();
});

const urls = (name: string, count: number) => Array.from({ length: count }, (_, i) => `https://origin.example/${name}/${i}.jpg`);

it('takes entries one tenant at a time, in each tenant\'s order', async () => {
  const backlog = new PrefetchBacklog(redis, prefix);
  await backlog.push('a', 'batchA', urls('a', 5), null);
  await backlog.push('b', 'batchB', urls('b', 2), null);
  const taken = await backlog.take(5);
  expect(taken.map((entry) => entry.url)).toEqual([...['a/0', 'b/0', 'a/1', 'b/1', 'a/2'].map((path) => `https://origin.example/${path}.jpg`)]);
  expect(taken[0]).toEqual({ tenant: 'a', batchId: 'batchA', url: 'https://origin.example/a/0.jpg', placeholders: false });
  expect(await backlog.waiting('a')).toBe(2);
  expect(await backlog.waiting('b')).toBe(0);
  expect((await backlog.take(10)).map((entry) => entry.tenant)).toEqual(['a', 'a']);
  expect(await backlog.take(10)).toEqual([]);
});

it('refuses a push over the cap whole, counts URLs waiting in any backlog as duplicates, and puts entries back first', async () => {
  const backlog = new PrefetchBacklog(redis, prefix);
  expect(await backlog.push('a', 'one', urls('x', 3), { cap: 4, requestSize: 3 })).toEqual({ refused: false, added: 3, duplicates: 0 });
  expect(await backlog.push('a', 'two', urls('y', 2), { cap: 4, requestSize: 2 })).toEqual({ refused: true, waiting: 3 });
  expect(await backlog.push('b', 'three', urls('x', 2), { cap: 4, requestSize: 2 })).toEqual({ refused: false, added: 0, duplicates: 2 });
  const [first] = await backlog.take(1);
  await backlog.putBack([first!]);
  expect(await backlog.push('b', 'four', [first!.url], null)).toEqual({ refused: false, added: 0, duplicates: 1 });
  expect((await backlog.take(1))[0]).toEqual(first);
});

it("carries a batch's placeholders request through the backlog, a put-back and the feeder into the fetch job", async () => {
  const backlog = new PrefetchBacklog(redis, prefix);
  const batches = new BatchTracker(redis, prefix);
  const feeder = new PrefetchFeeder({ redis, prefix, backlog, queue, batches, readyJobs: 10 });
  await batches.create('withPlaceholders', 'a', { total: 1, accepted: 1, duplicate: 0, rejected: 0 });
  await backlog.push('a', 'withPlaceholders', urls('p', 1), null, true);
  const [taken] = await backlog.take(1);
  expect(taken).toEqual({ tenant: 'a', batchId: 'withPlaceholders', url: 'https://origin.example/p/0.jpg', placeholders: true });
  await backlog.putBack([taken!]);

  expect(await feeder.topUp()).toBe(1);
  const placeholderJob = fetchJobFor('https://origin.example/p/0.jpg', 'async', { batchId: 'withPlaceholders', placeholders: true });
  expect(await queue.existingPrefetchIds([fetchJobIdOf(placeholderJob), fetchJobIdOf(fetchJobFor(placeholderJob.url, 'async'))])).toEqual(new Set([fetchJobIdOf(placeholderJob)]));
});

it('tops the fetch queue up to readyJobs, and counts URLs already queued there as late duplicates of their batch', async () => {
  const backlog = new PrefetchBacklog(redis, prefix);
  const batches = new BatchTracker(redis, prefix);
  const feeder = new PrefetchFeeder({ redis, prefix, backlog, queue, batches, readyJobs: 4 });
  await batches.create('batch', 'a', { total: 6, accepted: 6, duplicate: 0, rejected: 0 });
  // One URL of the batch entered the fetch queue by another way while it waited in the backlog.
  await queue.enqueueBulk([fetchJobFor('https://origin.example/z/0.jpg', 'async')], { fairShareKey: 'other' });
  await backlog.push('a', 'batch', urls('z', 6), null);

  expect(await feeder.topUp()).toBe(2);
  expect(await queue.readyPrefetchCount()).toBe(3);
  expect(await backlog.waiting('a')).toBe(3);
  expect(await batches.progress('batch')).toMatchObject({ accepted: 5, duplicate: 1, pending: 5 });
  expect(await feeder.topUp()).toBe(1);
  expect(await queue.readyPrefetchCount()).toBe(4);
});
