import IORedis, { type Redis } from 'ioredis';
import { FETCH_FAILURE_FIELD, type FetchJob, fetchJobFor, fetchJobIdOf } from '@image-cloud/contracts';
import { ImageCloudError } from '@image-cloud/errors';
import { TEST_REDIS_URL, countKeysWithPrefix, deleteKeysWithPrefix, uniquePrefix } from '@image-cloud/testing';
import {
  FailureCache,
  FetchQueue,
  type FetchJobOutcome,
  type FinalOutcome,
  OutcomeWaiter,
  type RunningFetchWorker,
  createBlockingConnection,
  createFailFastConnection,
  startFetchWorker,
} from '../src';

/** The fetch stage's worker against the real Redis: outcomes, parking, final outcomes, many at once. */

let prefix: string;
let producer: Redis;
let workerConnection: Redis;
let subscriber: Redis;
let queue: FetchQueue;
let waiter: OutcomeWaiter;
let failures: FailureCache;
let worker: RunningFetchWorker;
const attempts = new Map<string, number>();
const behaviour = new Map<string, (attempt: number) => Promise<FetchJobOutcome>>();
const finalOutcomes: Array<{ url: string; outcome: FinalOutcome }> = [];
/** URLs whose job ended done: what a waiter would find stored. */
const stored = new Set<string>();
let running = 0;
let maxRunning = 0;

const until = async (condition: () => boolean | Promise<boolean>) => {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 20));
};

async function runToEnd(job: FetchJob): Promise<void> {
  const jobId = await queue.ensureQueued(job);
  await waiter.wait<true>({
    jobId,
    deadline: Date.now() + 10_000,
    findResult: async () => (stored.has(job.url) ? true : null),
    findFailure: () => failures.get(job.originalKey, FETCH_FAILURE_FIELD),
    onDeadline: async () => new ImageCloudError('processing_timeout', 'deadline'),
  });
}

beforeAll(async () => {
  prefix = uniquePrefix('fetch-worker');
  producer = createFailFastConnection(TEST_REDIS_URL, 'spec-producer');
  workerConnection = createBlockingConnection(TEST_REDIS_URL, 'spec-worker');
  subscriber = new IORedis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  queue = new FetchQueue(producer, prefix, 3);
  waiter = new OutcomeWaiter(subscriber, prefix, 100);
  await waiter.start();
  failures = new FailureCache(producer, prefix);
  worker = await startFetchWorker({
    connection: workerConnection,
    prefix,
    concurrency: 8,
    prefetchConcurrency: 8,
    negativeCacheSeconds: 60,
    lockDurationMs: 8_000,
    stalledIntervalMs: 3_000,
    process: async (job) => {
      const attempt = (attempts.get(job.url) ?? 0) + 1;
      attempts.set(job.url, attempt);
      running++;
      maxRunning = Math.max(maxRunning, running);
      try {
        const outcome = (await behaviour.get(job.url)?.(attempt)) ?? { kind: 'done' };
        if (outcome.kind === 'done') stored.add(job.url);
        return outcome;
      } finally {
        running--;
      }
    },
    onFinal: async (job, outcome) => {
      finalOutcomes.push({ url: job.url, outcome });
    },
  });
});

afterAll(async () => {
  await worker.close();
  await queue.close();
  await waiter.close();
  for (const connection of [producer, workerConnection, subscriber]) connection.disconnect();
  await deleteKeysWithPrefix(TEST_REDIS_URL, prefix);
  expect(await countKeysWithPrefix(TEST_REDIS_URL, prefix)).toBe(0);
});

it('runs many downloads at once: they hold I/O, not cores', async () => {
  const jobs = Array.from({ length: 8 }, (_, i) => fetchJobFor(`http://origin.test/many-${i}.jpg`, 'sync'));
  for (const job of jobs) behaviour.set(job.url, async () => (await new Promise((resolve) => setTimeout(resolve, 200)), { kind: 'done' }));
  await Promise.all(jobs.map(runToEnd));
  expect(maxRunning).toBe(8);
});

it('records a download failure under the original, where every request for it looks', async () => {
  const job = fetchJobFor('http://origin.test/missing.jpg', 'sync');
  behaviour.set(job.url, async () => {
    throw new ImageCloudError('origin_not_found', 'The origin answered 404.');
  });
  await expect(runToEnd(job)).rejects.toMatchObject({ code: 'origin_not_found' });
  expect(await failures.get(job.originalKey, FETCH_FAILURE_FIELD)).toMatchObject({ code: 'origin_not_found' });
  expect(attempts.get(job.url)).toBe(1);
});

it('parks a prefetch as a delayed job without using an attempt, and runs it again later', async () => {
  const job = fetchJobFor('http://origin.test/parked.jpg', 'async');
  behaviour.set(job.url, async (attempt) => (attempt === 1 ? { kind: 'park', delayMs: 300, reason: 'saturated' } : { kind: 'done' }));
  await queue.ensureQueued(job);
  await until(async () => (await queue.jobState(job)) === 'delayed');
  const parked = await queue.queue('async').getJob(fetchJobIdOf(job));
  expect(parked?.attemptsMade).toBe(0);
  await until(() => finalOutcomes.some(({ url }) => url === job.url));
  expect(attempts.get(job.url)).toBe(2);
});

it('reports the final outcome of each prefetch once, never a failure that is retried', async () => {
  const done = fetchJobFor('http://origin.test/final-ok.jpg', 'async');
  const gone = fetchJobFor('http://origin.test/final-gone.jpg', 'async');
  behaviour.set(gone.url, async () => {
    throw new ImageCloudError('origin_not_found', 'The origin answered 404.');
  });
  const retried = fetchJobFor('http://origin.test/final-retried.jpg', 'async');
  behaviour.set(retried.url, async (attempt) => {
    if (attempt === 1) throw new ImageCloudError('origin_error', 'The origin answered 503.');
    return { kind: 'done' };
  });
  await queue.enqueueBulk([done, gone, retried]);
  const finals = () => finalOutcomes.filter(({ url }) => url.includes('/final-'));
  await until(() => finals().length >= 3);
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(attempts.get(retried.url)).toBe(2);
  expect(finals()).toEqual(
    expect.arrayContaining([
      { url: done.url, outcome: { ok: true } },
      { url: gone.url, outcome: { ok: false, code: 'origin_not_found' } },
      { url: retried.url, outcome: { ok: true } },
    ]),
  );
  expect(finals()).toHaveLength(3);
}, 15_000);
