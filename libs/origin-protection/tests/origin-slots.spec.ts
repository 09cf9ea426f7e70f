import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { type ParkedJobPromoter, createBlockingConnection, parkedJobPromoter } from '@image-cloud/job-queue';
import { TEST_REDIS_URL, deleteKeysWithPrefix, uniquePrefix } from '@image-cloud/testing';
import { OriginSlots, type OriginSlot, type OriginSlotAttempt, originKeys } from '../src';

let prefix: string;
let redis: Redis;
let parked: ParkedJobPromoter;
let slots: OriginSlots;
// Each test has a domain of its own, so nothing one leaves behind changes another.
const domains = {
  default: 3,
  'a.test': 2,
  'b.test': 5,
  'line.test': 2,
  'prio.test': 2,
  'wake.test': 2,
  'lease.test': 1,
  'hand.test': 1,
  'hand-rate.test': { maxParallel: 1, perSecond: 100 },
  'rate.test': { maxParallel: 10, perSecond: 10 },
  'reserve.test': { maxParallel: 10, perSecond: 10 },
  'rate-prio.test': { maxParallel: 10, perSecond: 10 },
};

function taken(attempt: OriginSlotAttempt): OriginSlot {
  if (!attempt.slot) throw new Error(`expected a slot, got ${attempt.reason}`);
  return attempt.slot;
}

const asyncWaiter = (id: string) => ({ urgency: 'async' as const, id });
const syncWaiter = (id: string) => ({ urgency: 'sync' as const, id });

beforeAll(async () => {
  prefix = uniquePrefix('origin-slots');
  redis = createBlockingConnection(TEST_REDIS_URL, 'spec-origin-slots');
  parked = parkedJobPromoter(redis, prefix);
  slots = new OriginSlots(redis, prefix, { domains, leaseMs: 600, backoffMs: 400, wakeParked: (waiterId) => parked.promote(waiterId) });
});

afterAll(async () => {
  await parked.close();
  redis.disconnect();
  await deleteKeysWithPrefix(TEST_REDIS_URL, prefix);
});

describe('OriginSlots (real Redis)', () => {
  it('hands out at most the cap of a domain at once, shared by its subdomains, and frees slots on release', async () => {
    const urls = Array.from({ length: 20 }, (_, i) => `http://img${i % 3}.a.test/p${i}.jpg`);
    const attempts = await Promise.all(urls.map((url, i) => slots.tryAcquire(url, asyncWaiter(`normal:cap-${i}`))));
    const held = attempts.filter((attempt) => attempt.slot).map(taken);
    expect(held).toHaveLength(2);
    const refused = attempts.filter((attempt) => !attempt.slot);
    expect(refused.every((attempt) => !attempt.slot && attempt.reason === 'saturated' && attempt.pool === 'a.test' && attempt.cap === 2)).toBe(true);
    // Other domains are not affected by a's saturation.
    const others = await Promise.all(Array.from({ length: 5 }, (_, i) => slots.tryAcquire(`http://b.test/${i}`, asyncWaiter(`normal:b-${i}`))));
    expect(others.filter((attempt) => attempt.slot)).toHaveLength(5);
    await Promise.all([...held, ...others.map(taken)].map((slot) => slot.release()));
    const again = await slots.tryAcquire('http://a.test/again', asyncWaiter('normal:again'));
    await taken(again).release();
  });

  it('tells a refused prefetch a fallback delay that grows with its place in line', async () => {
    // Jitter fixed at its middle, so each delay is exactly what the place in line gives. Leases
    // long enough that the two holders keep their slots however slowly the 200 asks run: a slot
    // lapsing on a loaded machine lets some of them in, and the line comes out shorter.
    const steady = new OriginSlots(redis, prefix, { domains, leaseMs: 60_000, backoffMs: 400, wakeParked: (waiterId) => parked.promote(waiterId), random: () => 0.5 });
    const held = await Promise.all([0, 1].map((i) => steady.tryAcquire('http://line.test/x', asyncWaiter(`normal:holder-${i}`)).then(taken)));
    const first = await steady.tryAcquire('http://line.test/1', asyncWaiter('normal:first'));
    for (let i = 0; i < 200; i++) await steady.tryAcquire('http://line.test/n', asyncWaiter(`normal:n-${i}`));
    const late = await steady.tryAcquire('http://line.test/late', asyncWaiter('normal:late'));
    expect(first.slot).toBeUndefined();
    expect(late.slot).toBeUndefined();
    if (first.slot || late.slot) return;
    // First in line: the base fallback of 1 s; 201 places later, 50 ms more for each.
    expect(first.waitMs).toBe(1_000);
    expect(late.waitMs).toBe(1_000 + 201 * 50);
    await Promise.all(held.map((slot) => slot.release()));
  });

  it('frees the slot of a holder that died (stopped renewing) once its lease runs out, and not before', async () => {
    const otherProcess = createBlockingConnection(TEST_REDIS_URL, 'spec-origin-slots-dying');
    const dying = new OriginSlots(otherProcess, prefix, { domains, leaseMs: 600, backoffMs: 400, wakeParked: async () => 'gone' });
    taken(await dying.tryAcquire('http://dead.test/1', syncWaiter('d1')));
    taken(await dying.tryAcquire('http://dead.test/2', syncWaiter('d2')));
    taken(await dying.tryAcquire('http://dead.test/3', syncWaiter('d3')));
    otherProcess.disconnect(); // the process is gone: no release, no renewal

    const started = Date.now();
    expect((await slots.tryAcquire('http://dead.test/4', syncWaiter('live'))).slot).toBeUndefined();
    let attempt: OriginSlotAttempt;
    do {
      await sleep(50);
      attempt = await slots.tryAcquire('http://dead.test/4', syncWaiter('live'));
    } while (!attempt.slot && Date.now() - started < 5_000);
    expect(attempt.slot).toBeDefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    await attempt.slot?.release();
  });

  it('keeps a slot while its holder renews it, however long the download takes', async () => {
    const holders = await Promise.all([1, 2, 3].map((i) => slots.tryAcquire('http://long.test/x', syncWaiter(`long-${i}`)).then(taken)));
    await sleep(1_500); // 2.5 leases
    expect((await slots.tryAcquire('http://long.test/y', syncWaiter('late'))).slot).toBeUndefined();
    await Promise.all(holders.map((slot) => slot.release()));
  });

  it('leaves a freed slot to a waiting sync job before any prefetch', async () => {
    const held = await Promise.all([0, 1].map((i) => slots.tryAcquire('http://prio.test/busy', asyncWaiter(`normal:h${i}`)).then(taken)));
    expect((await slots.tryAcquire('http://prio.test/s', syncWaiter('someone-waits'))).slot).toBeUndefined();
    await held[0]!.release();
    expect((await slots.tryAcquire('http://prio.test/p', asyncWaiter('normal:prefetch'))).slot).toBeUndefined();
    const sync = taken(await slots.tryAcquire('http://prio.test/s', syncWaiter('someone-waits')));
    await Promise.all([held[1]!.release(), sync.release()]);
  });

  it('backs a domain off for its Retry-After, or for a doubling default, and never shortens a back-off', async () => {
    const slot = taken(await slots.tryAcquire('http://busy.test/1', asyncWaiter('normal:busy')));
    expect(await slot.backOff(2)).toBeGreaterThan(1_900);
    expect(await slot.backOff(1)).toBeGreaterThan(1_800);
    await slot.release();
    const refused = await slots.tryAcquire('http://busy.test/2', syncWaiter('busy-sync'));
    expect(refused).toMatchObject({ reason: 'backoff', pool: 'busy.test' });
    if (!refused.slot) expect(refused.waitMs).toBeGreaterThan(1_500);

    const plain = taken(await slots.tryAcquire('http://plain.test/1', asyncWaiter('normal:plain')));
    const first = await plain.backOff();
    const second = await plain.backOff();
    const third = await plain.backOff();
    await plain.release();
    expect(first).toBeLessThanOrEqual(400);
    expect(second).toBeGreaterThan(700);
    expect(third).toBeGreaterThan(1_500);

    // A download that got its answer ends the run: the next busy answer backs off from the start.
    await redis.del(originKeys.backoff(prefix, 'plain.test'));
    const answered = taken(await slots.tryAcquire('http://plain.test/2', asyncWaiter('normal:answered')));
    await answered.release(true);
    const fresh = taken(await slots.tryAcquire('http://plain.test/3', asyncWaiter('normal:fresh')));
    expect(await fresh.backOff()).toBeLessThanOrEqual(400);
    await fresh.release();
  });

  it('hands a slot over to another download of the process, unless a sync waiter is owed it or the domain has a rate', async () => {
    const slot = taken(await slots.tryAcquire('http://hand.test/1', asyncWaiter('fetch:hand-1')));
    expect(await slot.handOver()).toBe(true);
    // Still held: the domain stays saturated for everybody else.
    expect((await slots.tryAcquire('http://hand.test/2', asyncWaiter('fetch:hand-2'))).slot).toBeUndefined();
    expect((await slots.tryAcquire('http://hand.test/3', syncWaiter('hand-sync'))).slot).toBeUndefined();
    // A sync waiter is polling now: the slot goes back to the cluster, and to it.
    expect(await slot.handOver()).toBe(false);
    await slot.release(true);
    const forSync = taken(await slots.tryAcquire('http://hand.test/3', syncWaiter('hand-sync')));
    await forSync.release(true);
    await redis.del(originKeys.asyncWaiters(prefix, 'hand.test'));

    const rated = taken(await slots.tryAcquire('http://hand-rate.test/1', asyncWaiter('fetch:rated')));
    expect(await rated.handOver()).toBe(false);
    await rated.release(true);
  });

  it('wakes the oldest parked job of the domain when a slot is released, skipping jobs that are gone', async () => {
    const queue = new Queue('prefetch', { connection: redis, prefix });
    try {
      const held = await Promise.all([0, 1].map((i) => slots.tryAcquire('http://wake.test/h', asyncWaiter(`normal:wh${i}`)).then(taken)));
      await queue.add('render', { n: 1 }, { jobId: 'parked-1', delay: 60_000 });
      await queue.add('render', { n: 2 }, { jobId: 'parked-2', delay: 60_000 });
      await slots.tryAcquire('http://wake.test/gone', asyncWaiter('fetch:removed-meanwhile'));
      await slots.tryAcquire('http://wake.test/p1', asyncWaiter('fetch:parked-1'));
      await slots.tryAcquire('http://wake.test/p2', asyncWaiter('fetch:parked-2'));
      await held[0]!.release();
      expect(await queue.getJobState('parked-1')).toBe('waiting');
      expect(await queue.getJobState('parked-2')).toBe('delayed');
      // The woken job and the stale entry before it left the line; the next one waits its turn.
      expect(await redis.zrange(originKeys.asyncWaiters(prefix, 'wake.test'), 0, -1)).toEqual(['fetch:parked-2']);
      await held[1]!.release();
      expect(await queue.getJobState('parked-2')).toBe('waiting');
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });

  it('takes the download lease and a slot in one call; a lease held elsewhere takes neither and joins no line', async () => {
    const leaseKey = originKeys.downloadLock(prefix, 'lease-original');
    const first = await slots.tryAcquireWithLease('http://lease.test/1', asyncWaiter('fetch:lease-1'), leaseKey, 5_000);
    if (!first.lease) throw new Error('expected the lease');
    const slot = taken(first.attempt);
    expect(await redis.exists(leaseKey)).toBe(1);
    expect(await redis.zcard(originKeys.slots(prefix, 'lease.test'))).toBe(1);

    // Another job of the same original: no lease, no slot, not parked in the domain's line.
    expect(await slots.tryAcquireWithLease('http://lease.test/1', asyncWaiter('fetch:lease-2'), leaseKey, 5_000)).toEqual({ lease: null });
    expect(await redis.zcard(originKeys.slots(prefix, 'lease.test'))).toBe(1);
    expect(await redis.zcard(originKeys.asyncWaiters(prefix, 'lease.test'))).toBe(0);

    // Another original of the saturated domain: the lease is taken, the slot refused.
    const otherKey = originKeys.downloadLock(prefix, 'lease-other');
    const other = await slots.tryAcquireWithLease('http://lease.test/2', asyncWaiter('fetch:lease-3'), otherKey, 5_000);
    if (!other.lease) throw new Error('expected the lease');
    expect(other.attempt).toMatchObject({ reason: 'saturated', pool: 'lease.test' });
    expect(await redis.exists(otherKey)).toBe(1);

    await slot.release(true);
    await first.lease.release();
    await other.lease.release();
    expect(await redis.exists(leaseKey, otherKey)).toBe(0);
    await redis.del(originKeys.asyncWaiters(prefix, 'lease.test'));
  });

  describe('with a rate (10 starts per second: 100 ms apart)', () => {
    it('spaces the download starts of every caller at least the interval apart', async () => {
      const startedAt: number[] = [];
      const caller = async (i: number) => {
        for (;;) {
          const attempt = await slots.tryAcquire(`http://rate.test/${i}`, syncWaiter(`rate-${i}`));
          if (attempt.slot) {
            startedAt.push(Date.now());
            await attempt.slot.release(true);
            return;
          }
          expect(attempt.reason).toBe('rate');
          await sleep(Math.max(5, attempt.waitMs));
        }
      };
      await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(caller));
      startedAt.sort((x, y) => x - y);
      // Eight starts need seven intervals; a few ms of slack for the hop from Redis to this process.
      expect(startedAt[7]! - startedAt[0]!).toBeGreaterThanOrEqual(7 * 100 - 30);
    });

    it('parks refused prefetches at distinct, evenly spaced start times, and admits each at its time', async () => {
      const first = taken(await slots.tryAcquire('http://reserve.test/0', asyncWaiter('normal:r0')));
      await first.release(true);
      const refused = [];
      for (let i = 1; i <= 4; i++) refused.push(await slots.tryAcquire(`http://reserve.test/${i}`, asyncWaiter(`normal:r${i}`)));
      const waits = refused.map((attempt) => (attempt.slot ? -1 : attempt.reason === 'rate' ? attempt.waitMs : -2));
      waits.forEach((wait, i) => expect(wait).toBeGreaterThan(i === 0 ? 0 : waits[i - 1]!));
      // The reserved start times (kept in Redis) are exactly one interval apart.
      const reserved = await redis.hmget(originKeys.reservations(prefix, 'reserve.test'), 'normal:r1', 'normal:r2', 'normal:r3', 'normal:r4');
      const times = reserved.map(Number);
      expect(times.slice(1).map((time, i) => time - times[i]!)).toEqual([100, 100, 100]);
      // Asking again early changes nothing: the same reserved time, not a place at the back.
      const early = await slots.tryAcquire('http://reserve.test/2', asyncWaiter('normal:r2'));
      expect(early.slot === undefined && early.reason === 'rate' && early.waitMs <= waits[1]!).toBe(true);
      // A newcomer queues behind the reservations.
      const newcomer = await slots.tryAcquire('http://reserve.test/new', asyncWaiter('normal:new'));
      expect(newcomer.slot === undefined && newcomer.reason === 'rate' && newcomer.waitMs > waits[3]!).toBe(true);
      // The first reserved prefetch is admitted once its time has come.
      await sleep(waits[0]! + 5);
      const admitted = taken(await slots.tryAcquire('http://reserve.test/1', asyncWaiter('normal:r1')));
      await admitted.release(true);
    });

    it('gives the next start to a waiting sync job before any prefetch', async () => {
      const first = taken(await slots.tryAcquire('http://rate-prio.test/0', asyncWaiter('normal:p0')));
      await first.release(true);
      const sync = await slots.tryAcquire('http://rate-prio.test/s', syncWaiter('rate-sync'));
      expect(sync).toMatchObject({ reason: 'rate' });
      await sleep(120);
      // The interval has passed, but somebody is waiting for an answer: the prefetch is refused.
      expect(await slots.tryAcquire('http://rate-prio.test/p', asyncWaiter('normal:p1'))).toMatchObject({ reason: 'rate' });
      const syncSlot = taken(await slots.tryAcquire('http://rate-prio.test/s', syncWaiter('rate-sync')));
      await syncSlot.release(true);
    });
  });
});
