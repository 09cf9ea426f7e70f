import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type FetchJob, fetchJobFor } from '@image-cloud/contracts';
import { ImageCloudError } from '@image-cloud/errors';
import { probeImage, readImageSource } from '@image-cloud/imaging';
import { makeImage } from '@image-cloud/imaging/testing';
import { LocalDirectoryStorage } from '@image-cloud/storage';
import { type DownloadLeases, type FetchPipelineDeps, type OriginSlotAttempt, type OriginSlots, type OriginalSource, createFetchPipeline } from '../src';

/** The fetch pipeline's steps through its ports: fake origin, leases and slots, a real directory. */

let dataDir: string;
let storage: LocalDirectoryStorage;
let png: Buffer;

/** Leases held in memory; `heldByOther` pretends another worker downloads that original. */
function memoryLeases(heldByOther = new Set<string>()): DownloadLeases {
  const held = new Set<string>();
  return {
    tryAcquire: async (key) => {
      if (held.has(key) || heldByOther.has(key)) return null;
      held.add(key);
      return { key, token: 'memory', release: async () => void held.delete(key) };
    },
    isHeld: async (key) => held.has(key) || heldByOther.has(key),
  };
}

/** A domain with `cap` slots, counted in memory. */
function memorySlots(cap: number): OriginSlots & { inUse: () => number; taken: () => number } {
  let inUse = 0;
  let taken = 0;
  return {
    inUse: () => inUse,
    taken: () => taken,
    poolOf: (url) => ({ pool: new URL(url).hostname, cap }),
    tryAcquire: async (url): Promise<OriginSlotAttempt> => {
      const pool = new URL(url).hostname;
      if (inUse >= cap) return { reason: 'saturated', waitMs: 1_000, pool, cap };
      inUse++;
      taken++;
      return { slot: { pool, handOver: async () => true, release: async () => void inUse--, backOff: async () => 0 } };
    },
  };
}

function origin(delayMs = 0, calls: string[] = []): OriginalSource {
  return {
    fetch: async (url) => {
      calls.push(url);
      await sleep(delayMs);
      return { bytes: png, contentType: 'image/png' };
    },
  };
}

function pipeline(overrides: Partial<FetchPipelineDeps> = {}) {
  return createFetchPipeline({
    storage,
    origin: origin(),
    peers: [],
    leases: memoryLeases(),
    limits: { maxPixels: 1e8, maxFrames: 100 },
    // In-process here; the worker probes in a sandboxed render child (render-sandbox's tests).
    probe: async (source, limits) => probeImage(await readImageSource(source), limits),
    downloadWaitMs: 2_000,
    originSlotWaitMs: 500,
    ...overrides,
  });
}

const run = (p: ReturnType<typeof pipeline>, job: FetchJob) => p.run(job, { waiterId: `fetch:${job.originalKey}` });

beforeAll(async () => {
  png = await makeImage({ width: 40, height: 30, format: 'png' });
});

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'fetch-pipeline-'));
  storage = new LocalDirectoryStorage({ dataDir });
});

afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

it('downloads, probes and stores the original with its header facts', async () => {
  const outcome = await run(pipeline(), fetchJobFor('http://a.test/1.png', 'sync'));
  expect(outcome).toMatchObject({ kind: 'done', meta: { width: 40, height: 30, format: 'png', frames: 1 } });
});

it('does not download an original that is stored already', async () => {
  const calls: string[] = [];
  const job = fetchJobFor('http://a.test/2.png', 'sync');
  await run(pipeline(), job);
  expect(await run(pipeline({ origin: origin(0, calls) }), job)).toMatchObject({ kind: 'done' });
  expect(calls).toEqual([]);
});

it('waits for the worker that holds the download lease instead of downloading again', async () => {
  const job = fetchJobFor('http://a.test/3.png', 'sync');
  const calls: string[] = [];
  const waiting = run(pipeline({ leases: memoryLeases(new Set([job.originalKey])), origin: origin(0, calls) }), job);
  await sleep(150);
  await run(pipeline(), job); // the other worker's download
  expect(await waiting).toMatchObject({ kind: 'done' });
  expect(calls).toEqual([]);
});

it('parks a prefetch whose domain stays saturated, holding no slot', async () => {
  const slots = memorySlots(0);
  const outcome = await run(pipeline({ originSlots: slots }), fetchJobFor('http://a.test/4.png', 'async'));
  expect(outcome).toEqual({ kind: 'park', delayMs: 1_000, reason: 'saturated' });
});

it('lets a sync fetch wait its turn for a slot, and frees the slot after the download', async () => {
  const slots = memorySlots(1);
  const p = pipeline({ originSlots: slots, origin: origin(200) });
  const results = await Promise.all([run(p, fetchJobFor('http://a.test/5.png', 'sync')), run(p, fetchJobFor('http://a.test/6.png', 'sync'))]);
  expect(results.map((r) => r.kind)).toEqual(['done', 'done']);
  expect(slots.inUse()).toBe(0);
});

it('hands a slot straight to the next download of its domain waiting in this process', async () => {
  const slots = memorySlots(2);
  const p = pipeline({ originSlots: slots, origin: origin(50) });
  const jobs = [11, 12, 13, 17].map((n) => fetchJobFor(`http://a.test/${n}.png`, 'async'));
  const results = await Promise.all(jobs.map((job) => run(p, job)));
  expect(results.map((r) => r.kind)).toEqual(['done', 'done', 'done', 'done']);
  // Two acquisitions served four downloads; the slots are free at the end.
  expect(slots.taken()).toBe(2);
  expect(slots.inUse()).toBe(0);
});

it('parks prefetches beyond the cap of their domain instead of lining them up', async () => {
  const slots = memorySlots(1);
  const p = pipeline({ originSlots: slots, origin: origin(300) });
  const results = await Promise.all([14, 15, 16].map((n) => run(p, fetchJobFor(`http://a.test/${n}.png`, 'async'))));
  // One downloads, one waits in line (the cap is 1), one parks.
  expect(results.map((r) => r.kind).sort()).toEqual(['done', 'done', 'park']);
});

it('gives up a sync wait for a slot with 504 origin_timeout', async () => {
  await expect(run(pipeline({ originSlots: memorySlots(0) }), fetchJobFor('http://a.test/7.png', 'sync'))).rejects.toMatchObject({ code: 'origin_timeout' });
});

it('asks the peers first with use_alternative_clouds, and the origin only when they lack it', async () => {
  const originCalls: string[] = [];
  const lacking: OriginalSource = { fetch: async () => Promise.reject(new ImageCloudError('not_cached', 'no')) };
  const peerCalls: string[] = [];
  const p = pipeline({ origin: origin(0, originCalls), peers: [{ url: 'http://peer-1', source: lacking }, { url: 'http://peer-2', source: origin(0, peerCalls) }] });
  await run(p, fetchJobFor('http://a.test/8.png', 'sync', { useAlternativeClouds: true }));
  expect(peerCalls).toEqual(['http://a.test/8.png']);
  expect(originCalls).toEqual([]);
  await run(p, fetchJobFor('http://a.test/9.png', 'sync'));
  expect(originCalls).toEqual(['http://a.test/9.png']);
});

it('frees the slot and the lease when the download fails', async () => {
  const slots = memorySlots(1);
  const leases = memoryLeases();
  const failing: OriginalSource = { fetch: async () => Promise.reject(new ImageCloudError('origin_error', 'The origin answered 500.')) };
  const job = fetchJobFor('http://a.test/10.png', 'sync');
  await expect(run(pipeline({ originSlots: slots, leases, origin: failing }), job)).rejects.toMatchObject({ code: 'origin_error' });
  expect(slots.inUse()).toBe(0);
  expect(await leases.isHeld(job.originalKey)).toBe(false);
});

it('asks for the download lease and the first slot in one call when it goes to the origin next, and takes no slot while another worker holds the lease', async () => {
  const slots = memorySlots(1);
  const plain = memoryLeases();
  const combined: string[] = [];
  let slotCalls = 0;
  const countedSlots: OriginSlots = { poolOf: slots.poolOf, tryAcquire: (url, waiter) => (slotCalls++, slots.tryAcquire(url, waiter)) };
  const leases: DownloadLeases = {
    ...plain,
    tryAcquireWithSlot: async (originalKey, url, waiter) => {
      combined.push(`${waiter.urgency}:${waiter.parks}`);
      const lease = await plain.tryAcquire(originalKey);
      return lease ? { lease, attempt: await slots.tryAcquire(url, waiter) } : null;
    },
  };
  const job = fetchJobFor('http://a.test/20.png', 'async');
  expect(await run(pipeline({ originSlots: countedSlots, leases }), job)).toMatchObject({ kind: 'done' });
  // One call took both; the slot step had nothing left to ask, and both are free at the end.
  expect(combined).toEqual(['async:false']);
  expect(slotCalls).toBe(0);
  expect(slots.inUse()).toBe(0);
  expect(await plain.isHeld(job.originalKey)).toBe(false);

  // Stored already: neither the lease nor a slot is asked for.
  expect(await run(pipeline({ originSlots: countedSlots, leases }), job)).toMatchObject({ kind: 'done' });
  expect(combined).toHaveLength(1);

  // Another worker holds the lease: this job waits for its download, holding no slot.
  const other = fetchJobFor('http://a.test/21.png', 'sync');
  const held = await plain.tryAcquire(other.originalKey);
  const waiting = run(pipeline({ originSlots: countedSlots, leases }), other);
  await sleep(150);
  expect(slots.inUse()).toBe(0);
  await run(pipeline(), other); // the other worker's download
  await held!.release();
  expect(await waiting).toMatchObject({ kind: 'done' });
  expect(combined).toEqual(['async:false', 'sync:true']);
  expect(slots.taken()).toBe(1);
});
