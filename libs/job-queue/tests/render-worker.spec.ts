import IORedis, { type Redis } from 'ioredis';
import { type RenderJob, renderJobFor, renderJobIdOf } from '@image-cloud/contracts';
import { ImageCloudError } from '@image-cloud/errors';
import { TEST_REDIS_URL, countKeysWithPrefix, deleteKeysWithPrefix, uniquePrefix } from '@image-cloud/testing';
import {
  FailureCache,
  OutcomeWaiter,
  RenderQueues,
  type RenderJobOutcome,
  type RunningRenderWorker,
  createBlockingConnection,
  createFailFastConnection,
  startRenderWorker,
} from '../src';

let prefix: string;
let producer: Redis;
let workerConnection: Redis;
let subscriber: Redis;
let queues: RenderQueues;
let waiter: OutcomeWaiter;
let failures: FailureCache;
let worker: RunningRenderWorker;
const order: string[] = [];
const attempts = new Map<string, number>();
const behaviour = new Map<string, () => Promise<void>>();
const outcomes = new Map<string, RenderJobOutcome>();

function jobFor(url: string, lane: RenderJob['lane'] = 'sync-normal'): RenderJob {
  return renderJobFor(url, lane, { width: 10, fit: 'inside', format: 'png' });
}

async function runToEnd(job: RenderJob): Promise<string> {
  const jobId = await queues.ensureQueued(job);
  return waiter.wait<string>({
    jobId,
    deadline: Date.now() + 10_000,
    findResult: async () => null,
    findFailure: () => failures.get(job.originalKey, jobId),
    onDeadline: async () => new ImageCloudError('processing_timeout', 'deadline'),
  });
}

beforeAll(async () => {
  prefix = uniquePrefix('lane-worker');
  producer = createFailFastConnection(TEST_REDIS_URL, 'spec-producer');
  workerConnection = createBlockingConnection(TEST_REDIS_URL, 'spec-worker');
  subscriber = new IORedis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  queues = new RenderQueues(producer, prefix, 3);
  waiter = new OutcomeWaiter(subscriber, prefix, 200);
  await waiter.start();
  failures = new FailureCache(producer, prefix);
  worker = await startRenderWorker({
    size: 'normal',
    connection: workerConnection,
    prefix,
    concurrency: 1,
    negativeCacheSeconds: 60,
    asyncAttempts: 3,
    lockDurationMs: 8_000,
    stalledIntervalMs: 3_000,
    process: async (job) => {
      order.push(job.url);
      attempts.set(job.url, (attempts.get(job.url) ?? 0) + 1);
      await behaviour.get(job.url)?.();
      return outcomes.get(job.url) ?? { kind: 'done', renderMs: 1 };
    },
  });
});

afterAll(async () => {
  await worker.close();
  await queues.close();
  await waiter.close();
  for (const connection of [producer, workerConnection, subscriber]) connection.disconnect();
  await deleteKeysWithPrefix(TEST_REDIS_URL, prefix);
  expect(await countKeysWithPrefix(TEST_REDIS_URL, prefix)).toBe(0);
});

describe('render worker', () => {
  it('records a final failure for negative caching and does not retry it', async () => {
    const job = jobFor('http://origin.test/missing.jpg');
    behaviour.set(job.url, async () => {
      throw new ImageCloudError('origin_not_found', 'The origin answered 404.');
    });
    await expect(runToEnd(job)).rejects.toMatchObject({ code: 'origin_not_found' });
    expect(attempts.get(job.url)).toBe(1);
    const remembered = await failures.get(job.originalKey, renderJobIdOf(job));
    expect(remembered).toMatchObject({ code: 'origin_not_found', retryable: false });
  });

  it('reports a retryable failure to the waiting client at once', async () => {
    const job = jobFor('http://origin.test/flaky.jpg');
    behaviour.set(job.url, async () => {
      throw new ImageCloudError('origin_error', 'The origin answered 503.');
    });
    await expect(runToEnd(job)).rejects.toMatchObject({ code: 'origin_error', retryable: true });
  });

  it('turns unexpected exceptions into internal_error without crashing', async () => {
    const job = jobFor('http://origin.test/bug.jpg');
    behaviour.set(job.url, async () => {
      throw new TypeError('undefined is not a function');
    });
    await expect(runToEnd(job)).rejects.toMatchObject({ code: 'internal_error' });
  });

  it('runs one job for identical requests queued together', async () => {
    const job = jobFor('http://origin.test/popular.jpg');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    behaviour.set(job.url, () => gate);
    const ids = await Promise.all(Array.from({ length: 10 }, () => queues.ensureQueued(job)));
    expect(new Set(ids).size).toBe(1);
    release();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(attempts.get(job.url)).toBe(1);
  });

  it('takes every waiting sync job before any async job, and never runs two jobs at once', async () => {
    const blocker = jobFor('http://origin.test/blocker.jpg');
    let release!: () => void;
    behaviour.set(blocker.url, () => new Promise<void>((resolve) => (release = resolve)));
    await queues.ensureQueued(blocker);
    while (!order.includes(blocker.url)) await new Promise((resolve) => setTimeout(resolve, 10));

    const asyncJobs = Array.from({ length: 20 }, (_, i) => jobFor(`http://origin.test/prefetch-${i}.jpg`, 'async-normal'));
    for (const job of asyncJobs) await queues.ensureQueued(job);
    const syncJobs = Array.from({ length: 3 }, (_, i) => jobFor(`http://origin.test/wanted-${i}.jpg`));
    for (const job of syncJobs) await queues.ensureQueued(job);
    expect(await queues.waitingCount('async-normal')).toBe(20);
    expect(await queues.waitingCount('sync-normal')).toBe(3);

    const start = order.length;
    release();
    while (order.length < start + 23) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(order.slice(start, start + 3)).toEqual(syncJobs.map((job) => job.url));
    expect(order.slice(start + 3).every((url) => url.includes('prefetch'))).toBe(true);
    expect(worker.stats().maxActive).toBe(1);
  });

  it('moves a rerouted job to the big lane under its id, and never re-adds it to the normal lane', async () => {
    const job = jobFor('http://origin.test/giant.jpg');
    outcomes.set(job.url, { kind: 'reroute', reason: 'budget' });
    const jobId = await queues.ensureQueued(job);
    while ((await queues.queue('big').getJobState(jobId)) !== 'waiting') await new Promise((resolve) => setTimeout(resolve, 20));
    // The waiting server re-adds the job every few polls: it stays in the big lane, where it is.
    for (let i = 0; i < 5; i++) await queues.ensureQueued(job);
    await queues.queue('big').remove(jobId);
    // Even once gone from both lanes, it is re-added to the big lane only.
    await queues.ensureQueued(job);
    expect(await queues.queue('big').getJobState(jobId)).toBe('waiting');
    expect(await queues.queue('normal').getJobState(jobId)).toBe('unknown');
    expect(attempts.get(job.url)).toBe(1);
    await queues.queue('big').obliterate({ force: true });
  });

  it('rejects a payload that breaks the contract before it reaches Redis', async () => {
    await expect(queues.ensureQueued({ ...jobFor('http://origin.test/x.jpg'), originalKey: 'not-a-key' })).rejects.toThrow(/sha256/);
  });
});
