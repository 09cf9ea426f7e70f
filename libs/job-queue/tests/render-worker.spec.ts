import IORedis, { type Redis } from 'ioredis';
import { type RenderJob, renderJobFor, renderJobIdOf } from '@image-cloud/contracts';
import { ImageCloudError } from '@image-cloud/errors';
import { TEST_REDIS_URL, countKeysWithPrefix, deleteKeysWithPrefix, uniquePrefix } from '@image-cloud/testing';
import {
  type FinalOutcome,
  FailureCache,
  OutcomeWaiter,
  RenderQueues,
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
const finalOutcomes: Array<{ url: string; outcome: FinalOutcome }> = [];

function jobFor(url: string, lane: RenderJob['lane'] = 'sync-normal'): RenderJob {
  return renderJobFor(url, lane);
}

async function runToEnd(job: RenderJob): Promise<string> {
  const jobId = await queues.enqueue(job);
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
  queues = new RenderQueues({ connection: producer, prefix, asyncAttempts: 3 });
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
    process: async (job) => {
      order.push(job.url);
      attempts.set(job.url, (attempts.get(job.url) ?? 0) + 1);
      await behaviour.get(job.url)?.();
    },
    onFinalOutcome: async (job, outcome) => {
      finalOutcomes.push({ url: job.url, outcome });
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
    const ids = await Promise.all(Array.from({ length: 10 }, () => queues.enqueue(job)));
    expect(new Set(ids).size).toBe(1);
    release();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(attempts.get(job.url)).toBe(1);
  });

  it('takes every waiting sync job before any async job, and never runs two jobs at once', async () => {
    const blocker = jobFor('http://origin.test/blocker.jpg');
    let release!: () => void;
    behaviour.set(blocker.url, () => new Promise<void>((resolve) => (release = resolve)));
    await queues.enqueue(blocker);
    while (!order.includes(blocker.url)) await new Promise((resolve) => setTimeout(resolve, 10));

    const asyncJobs = Array.from({ length: 20 }, (_, i) => jobFor(`http://origin.test/prefetch-${i}.jpg`, 'async-normal'));
    for (const job of asyncJobs) await queues.enqueue(job);
    const syncJobs = Array.from({ length: 3 }, (_, i) => jobFor(`http://origin.test/wanted-${i}.jpg`));
    for (const job of syncJobs) await queues.enqueue(job);
    expect(await queues.waitingCount('async-normal')).toBe(20);
    expect(await queues.waitingCount('sync-normal')).toBe(3);

    const start = order.length;
    release();
    while (order.length < start + 23) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(order.slice(start, start + 3)).toEqual(syncJobs.map((job) => job.url));
    expect(order.slice(start + 3).every((url) => url.includes('prefetch'))).toBe(true);
    expect(worker.stats().maxActive).toBe(1);
  });

  it('reports the final outcome of each job once, never a failure that is retried', async () => {
    const done = jobFor('http://origin.test/final-ok.jpg');
    const gone = jobFor('http://origin.test/final-gone.jpg');
    behaviour.set(gone.url, async () => {
      throw new ImageCloudError('origin_not_found', 'The origin answered 404.');
    });
    const retried = jobFor('http://origin.test/final-retried.jpg', 'async-normal');
    behaviour.set(retried.url, async () => {
      if (attempts.get(retried.url) === 1) throw new ImageCloudError('origin_error', 'The origin answered 503.');
    });
    for (const job of [done, gone, retried]) await queues.enqueue(job);
    const finals = () => finalOutcomes.filter(({ url }) => url.includes('/final-'));
    while (finals().length < 3) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(attempts.get(retried.url)).toBe(2);
    expect(finals()).toEqual([
      { url: done.url, outcome: { ok: true } },
      { url: gone.url, outcome: { ok: false, code: 'origin_not_found' } },
      { url: retried.url, outcome: { ok: true } },
    ]);
  });

  it('rejects a payload that breaks the contract before it reaches Redis', async () => {
    await expect(queues.enqueue({ ...jobFor('http://origin.test/x.jpg'), originalKey: 'not-a-key' })).rejects.toThrow(/sha256/);
  });
});
