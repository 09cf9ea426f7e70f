import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchJobFor } from '@image-cloud/contracts';
import { createFetchPipeline } from '@image-cloud/image-pipeline';
import { probeImage, readImageSource } from '@image-cloud/imaging';
import { createBlockingConnection } from '@image-cloud/job-queue';
import { createOriginFetcher } from '@image-cloud/origin-fetch';
import { LocalDirectoryStorage } from '@image-cloud/storage';
import { type OriginServer, TEST_REDIS_URL, deleteKeysWithPrefix, startOriginServer, uniquePrefix } from '@image-cloud/testing';
import { OriginReleases, OriginSlots, downloadLeases, originKeys } from '@image-cloud/origin-protection';
import { BatchTracker } from '@image-cloud/prefetch';

/** Prefetches through the fetch pipeline wired as the worker wires it (origin-protection's leases and slots): real Redis, a real origin. */

const prefix = uniquePrefix('download-leases');
let redis: ReturnType<typeof createBlockingConnection>;
let subscriber: ReturnType<typeof createBlockingConnection>;
let origin: OriginServer;
let dataDir: string;
/** Commands this process sent on `redis`, by name (scripts are `evalsha`). */
const sent = new Map<string, number>();

beforeAll(async () => {
  redis = createBlockingConnection(TEST_REDIS_URL, 'spec-download-leases');
  subscriber = createBlockingConnection(TEST_REDIS_URL, 'spec-download-leases-releases');
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = (command, stream) => {
    sent.set(command.name, (sent.get(command.name) ?? 0) + 1);
    return send(command, stream);
  };
  origin = await startOriginServer({ host: '127.0.0.1' });
  dataDir = await mkdtemp(join(tmpdir(), 'download-leases-'));
});

afterAll(async () => {
  await origin.close();
  await rm(dataDir, { recursive: true, force: true });
  redis.disconnect();
  subscriber.disconnect();
  await deleteKeysWithPrefix(TEST_REDIS_URL, prefix);
});

/** The fetch pipeline as the worker wires it, on this spec's Redis connection, store and origin. */
function workerPipeline(slots: OriginSlots, line?: { slotReleases: OriginReleases; maxInLine: number }) {
  const fetcher = createOriginFetcher({
    maxBytes: 1_000_000,
    connectTimeoutMs: 2_000,
    responseTimeoutMs: 5_000,
    totalTimeoutMs: 10_000,
    maxRedirects: 0,
    userAgent: 'spec',
    allowPrivateOrigins: ['127.0.0.0/8'],
  });
  return createFetchPipeline({
    storage: new LocalDirectoryStorage({ dataDir }),
    origin: fetcher,
    peers: [],
    leases: downloadLeases(redis, prefix, slots, 30_000),
    limits: { maxPixels: 1e8, maxFrames: 100 },
    probe: async (source, limits) => probeImage(await readImageSource(source), limits),
    downloadWaitMs: 30_000,
    originSlots: slots,
    originSlotWaitMs: 5_000,
    ...line,
  });
}

it('starts each download with one script for the lease and the slot, and a release asks nothing more of an empty line of parked jobs', async () => {
  const cap = 2;
  const slots = new OriginSlots(redis, prefix, { domains: { default: cap }, leaseMs: 10_000, backoffMs: 1_000, wakeParked: async () => 'gone' });
  const releases = new OriginReleases(subscriber, prefix);
  await releases.start();
  const pipeline = workerPipeline(slots, { slotReleases: releases, maxInLine: 4 });
  const jobs = Array.from({ length: 40 }, (_, i) => fetchJobFor(origin.url(`/slow?ms=10&n=${i}`), 'async'));
  sent.clear();
  // Four prefetch slots, as a worker process runs them: two download, two wait in this process's line.
  let next = 0;
  const outcomes: string[] = [];
  await Promise.all(
    [1, 2, 3, 4].map(async () => {
      while (next < jobs.length) {
        const job = jobs[next++]!;
        outcomes.push((await pipeline.run(job, { waiterId: `fetch:${job.originalKey}` })).kind);
      }
    }),
  );
  await releases.close();

  expect(outcomes).toEqual(jobs.map(() => 'done'));
  expect(origin.maxConcurrent()).toBeLessThanOrEqual(cap);
  // No lease taken on its own (SET), no line of parked jobs popped after the release script.
  expect(sent.get('set') ?? 0).toBe(0);
  expect(sent.get('zpopmin') ?? 0).toBe(0);
  // Every lease was released, and every slot.
  expect(await redis.keys(originKeys.downloadLock(prefix, '*'))).toEqual([]);
  expect(await redis.zcard(originKeys.slots(prefix, '127.0.0.1'))).toBe(0);
});

it("ends a batch's prefetch with one script for its count and its lease's release: one round trip fewer per prefetch", async () => {
  const slots = new OriginSlots(redis, prefix, { domains: { default: 2 }, leaseMs: 10_000, backoffMs: 1_000, wakeParked: async () => 'gone' });
  const pipeline = workerPipeline(slots);
  const batches = new BatchTracker(redis, prefix);
  // The spec's own reads go over a connection of their own, so `sent` counts the worker's commands only.
  const observer = createBlockingConnection(TEST_REDIS_URL, 'spec-download-leases-observer');
  const perMode = 10;
  await batches.create('folded', null, { total: 2 * perMode, accepted: 2 * perMode, duplicate: 0, rejected: 0 });
  /** Commands sent for `perMode` prefetches of fresh originals, each run to its end as the worker ends it. */
  const commandsFor = async (mode: string, keepLeaseWhenDone: boolean): Promise<number> => {
    sent.clear();
    for (let i = 0; i < perMode; i++) {
      const job = fetchJobFor(origin.url(`/slow?ms=1&mode=${mode}&n=${i}`), 'async', { batchId: 'folded' });
      const outcome = await pipeline.run(job, { waiterId: `fetch:${job.originalKey}`, keepLeaseWhenDone });
      if (outcome.kind !== 'done') throw new Error(`prefetch ended ${outcome.kind}`);
      // With keepLeaseWhenDone the lease is still held here, and only its batch count frees it.
      expect(await observer.exists(originKeys.downloadLock(prefix, job.originalKey))).toBe(keepLeaseWhenDone ? 1 : 0);
      expect(outcome.lease !== undefined).toBe(keepLeaseWhenDone);
      await batches.finished('folded', { ok: true }, `${prefix}:job-${mode}-${i}`, outcome.lease);
    }
    return [...sent.values()].reduce((sum, n) => sum + n, 0);
  };
  const separate = await commandsFor('separate', false);
  const folded = await commandsFor('folded', true);
  observer.disconnect();

  expect(folded).toBe(separate - perMode);
  expect(await batches.progress('folded')).toMatchObject({ done: 2 * perMode, complete: true });
  expect(await redis.keys(originKeys.downloadLock(prefix, '*'))).toEqual([]);
  expect(await redis.zcard(originKeys.slots(prefix, '127.0.0.1'))).toBe(0);
});
