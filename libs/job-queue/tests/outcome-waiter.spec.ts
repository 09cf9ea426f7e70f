import IORedis, { type Redis } from 'ioredis';
import { ImageCloudError } from '@image-cloud/errors';
import { TEST_REDIS_URL, countKeysWithPrefix, deleteKeysWithPrefix, uniquePrefix } from '@image-cloud/testing';
import { OutcomeWaiter, type WaitOptions, publishOutcome } from '../src';

const POLL_MS = 300;
let prefix: string;
let publisher: Redis;
let subscriber: Redis;
let waiter: OutcomeWaiter;

beforeAll(async () => {
  prefix = uniquePrefix('outcome-waiter');
  publisher = new IORedis(TEST_REDIS_URL);
  subscriber = new IORedis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  waiter = new OutcomeWaiter(subscriber, prefix, POLL_MS);
  await waiter.start();
});

afterAll(async () => {
  await waiter.close();
  subscriber.disconnect();
  publisher.disconnect();
  await deleteKeysWithPrefix(TEST_REDIS_URL, prefix);
  expect(await countKeysWithPrefix(TEST_REDIS_URL, prefix)).toBe(0);
});

function waitFor(jobId: string, state: { result: string | null; failure?: ImageCloudError | null }, extra: Partial<WaitOptions<string>> = {}) {
  return waiter.wait<string>({
    jobId,
    deadline: Date.now() + 5_000,
    findResult: async () => state.result,
    findFailure: async () => state.failure ?? null,
    onDeadline: async () => new ImageCloudError('processing_timeout', 'deadline'),
    ...extra,
  });
}

describe('OutcomeWaiter', () => {
  it('returns at once when the result is already there', async () => {
    await expect(waitFor('job-ready', { result: 'stored' })).resolves.toBe('stored');
  });

  it('wakes on the completion notice, well before the poll interval', async () => {
    const state = { result: null as string | null };
    const started = Date.now();
    const waiting = waitFor('job-notice', state);
    await new Promise((resolve) => setTimeout(resolve, 50));
    state.result = 'stored';
    await publishOutcome(publisher, prefix, { jobId: 'job-notice', ok: true });
    await expect(waiting).resolves.toBe('stored');
    expect(Date.now() - started).toBeLessThan(POLL_MS);
  });

  it('still finds the result when the notice is lost, within about one poll interval', async () => {
    const state = { result: null as string | null };
    const waiting = waitFor('job-lost-notice', state);
    const stored = Date.now();
    setTimeout(() => (state.result = 'stored'), 100);
    await expect(waiting).resolves.toBe('stored');
    expect(Date.now() - stored).toBeLessThan(POLL_MS * 2 + 100);
  });

  it('rejects with the error of a failure notice', async () => {
    const waiting = waitFor('job-fails', { result: null });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await publishOutcome(publisher, prefix, { jobId: 'job-fails', ok: false, error: new ImageCloudError('origin_not_found', 'gone').toJSON() });
    await expect(waiting).rejects.toMatchObject({ code: 'origin_not_found', status: 404 });
  });

  it('finds a recorded failure by polling when the notice is lost', async () => {
    const state = { result: null as string | null, failure: null as ImageCloudError | null };
    const waiting = waitFor('job-fails-quietly', state);
    setTimeout(() => (state.failure = new ImageCloudError('image_corrupt', 'broken')), 100);
    await expect(waiting).rejects.toMatchObject({ code: 'image_corrupt' });
  });

  it('gives up at the deadline with the error onDeadline chooses', async () => {
    const started = Date.now();
    await expect(waitFor('job-never', { result: null }, { deadline: Date.now() + 700 })).rejects.toMatchObject({ code: 'processing_timeout' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(650);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('calls reassure every few polls so a vanished job is enqueued again', async () => {
    let reassured = 0;
    const state = { result: null as string | null };
    const waiting = waitFor('job-vanished', state, {
      reassure: async () => {
        reassured++;
        state.result = 'rendered after re-enqueue';
      },
    });
    await expect(waiting).resolves.toBe('rendered after re-enqueue');
    expect(reassured).toBe(1);
  });

  it('stops waiting when the client goes away', async () => {
    const controller = new AbortController();
    const waiting = waitFor('job-abandoned', { result: null }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(waiting).rejects.toBeInstanceOf(ImageCloudError);
    expect(waiter.waiting).toBe(0);
  });

  it('serves many waiters of the same job with one notice', async () => {
    const state = { result: null as string | null };
    const waiters = Array.from({ length: 50 }, () => waitFor('job-shared', state));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(waiter.waiting).toBe(50);
    state.result = 'stored';
    await publishOutcome(publisher, prefix, { jobId: 'job-shared', ok: true });
    await expect(Promise.all(waiters)).resolves.toEqual(Array(50).fill('stored'));
    expect(waiter.waiting).toBe(0);
  });

  describe('after the caller has just looked (absentSince)', () => {
    /** A wait that counts its looks into storage. */
    function countedWait(jobId: string, state: { result: string | null }, absentSince: number) {
      const looks = { count: 0 };
      const waiting = waitFor(jobId, state, {
        absentSince,
        findResult: async () => {
          looks.count++;
          return state.result;
        },
      });
      return { waiting, looks };
    }

    it('does not look again at once when no outcome was announced since, and looks when the notice comes', async () => {
      const state = { result: null as string | null };
      const { waiting, looks } = countedWait('job-absent', state, performance.now());
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(looks.count).toBe(0);
      state.result = 'stored';
      await publishOutcome(publisher, prefix, { jobId: 'job-absent', ok: true });
      await expect(waiting).resolves.toBe('stored');
      expect(looks.count).toBe(1);
    });

    it('looks at once when the job was announced after the caller looked but before the wait began', async () => {
      const absentSince = performance.now();
      const state = { result: 'stored' as string | null };
      await publishOutcome(publisher, prefix, { jobId: 'job-announced-early', ok: true });
      // Replies on the subscriber's own connection come after the message it was sent first.
      await subscriber.ping();
      const { waiting, looks } = countedWait('job-announced-early', state, absentSince);
      await expect(waiting).resolves.toBe('stored');
      expect(looks.count).toBe(1);
    });

    it('does not look for a recorded failure at once either, and finds one whose notice is lost by polling', async () => {
      const state = { result: null as string | null, failure: null as ImageCloudError | null };
      const failureLooks = { count: 0 };
      const waiting = waitFor('job-absent-failure', state, {
        absentSince: performance.now(),
        findFailure: async () => {
          failureLooks.count++;
          return state.failure;
        },
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(failureLooks.count).toBe(0);
      state.failure = new ImageCloudError('origin_not_found', 'recorded, its notice lost');
      await expect(waiting).rejects.toBe(state.failure);
      expect(failureLooks.count).toBe(1);
    });

    it('still finds a result whose notice is lost, by polling', async () => {
      const state = { result: null as string | null };
      const { waiting, looks } = countedWait('job-absent-lost-notice', state, performance.now());
      setTimeout(() => (state.result = 'stored'), 100);
      await expect(waiting).resolves.toBe('stored');
      expect(looks.count).toBeGreaterThanOrEqual(1);
    });
  });
});
