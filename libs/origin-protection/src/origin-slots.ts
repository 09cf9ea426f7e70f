import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { LaneUrgency } from '@image-cloud/contracts';
import { defineRedisScript } from '@image-cloud/redis-scripts';
import acquireSlotLua from './commands/acquire-slot-7.lua';
import backOffLua from './commands/back-off-2.lua';
import handOverSlotLua from './commands/hand-over-slot-3.lua';
import releaseSlotLua from './commands/release-slot-4.lua';
import renewSlotLua from './commands/renew-slot-1.lua';
import { originKeys } from './redis-keys';
import { RedisLease } from './redis-lease';

/** How many downloads of a pool may run at once, and optionally how many may start per second. */
export interface PoolLimit {
  cap: number;
  perSecond?: number;
}

/** The pool of download slots a URL counts against, and its limits. */
export interface OriginPool extends PoolLimit {
  pool: string;
}

/** One entry of `domains` in CONFIG: max parallel downloads (max_downloads.json), or that and a rate. */
export type DomainLimit = number | { readonly maxParallel: number; readonly perSecond?: number };

/** `domains` from CONFIG, `default` for every domain not listed. */
export type DomainLimits = Readonly<Record<string, DomainLimit>> & { readonly default: DomainLimit };

function poolLimitOf(limit: DomainLimit): PoolLimit {
  if (typeof limit === 'number') return { cap: limit };
  return limit.perSecond === undefined ? { cap: limit.maxParallel } : { cap: limit.maxParallel, perSecond: limit.perSecond };
}

function normalizeHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}

/**
 * The pool a URL's host belongs to: the host itself or its closest listed parent domain (so
 * `{"shop.de": 2}` covers img1.shop.de and img2.shop.de together), else the host alone with the
 * default cap.
 */
export function originPoolOf(url: string, limits: ReadonlyMap<string, PoolLimit>, defaultLimit: PoolLimit): OriginPool {
  const host = normalizeHost(new URL(url).hostname);
  const isAddress = host.startsWith('[') || /^[\d.]+$/.test(host);
  const labels = isAddress ? [host] : host.split('.');
  // Parent domains down to the second level; a bare TLD is never a pool.
  for (let i = 0; i === 0 || i < labels.length - 1; i++) {
    const candidate = labels.slice(i).join('.');
    const limit = limits.get(candidate);
    if (limit !== undefined) return { pool: candidate, ...limit };
  }
  return { pool: host, ...defaultLimit };
}

/** Who asks for a slot: its urgency, the id a wake-up names it by, and whether a refused prefetch parks. @defaultValue parks: true */
export interface SlotWaiter {
  urgency: LaneUrgency;
  id: string;
  parks?: boolean;
}

export type OriginSlotAttempt =
  | { slot: OriginSlot }
  | { slot?: undefined; reason: 'saturated' | 'backoff' | 'rate'; waitMs: number; pool: string; cap: number; perSecond?: number };

/** A held download slot; released when the download ends, renewed while it runs. */
export interface OriginSlot {
  readonly pool: string;
  /**
   * After a successful download, keeps the slot for another download of the same domain in this
   * process instead of releasing it: true when it may (no sync waiter anywhere is owed it, no rate
   * to respect); the lease stays renewed with this object. On false the caller releases it.
   */
  handOver(): Promise<boolean>;
  /**
   * Frees the slot and announces it to the downloads waiting in line (OriginReleases), then wakes
   * parked prefetches; `originAnswered` ends a run of 429/503 answers, so the next back-off starts
   * short again.
   */
  release(originAnswered?: boolean): Promise<void>;
  /** The origin answered 429/503: no downloads from its domain for a while. Resolves to the back-off in ms. */
  backOff(retryAfterSeconds?: number): Promise<number>;
}

export interface OriginSlotsOptions {
  domains: DomainLimits;
  /** Lease of a slot; renewed every third of it while the download runs, so a dead worker's slot frees itself. */
  leaseMs: number;
  /** Back-off after a 429/503 without Retry-After; doubles with each further one, up to MAX_BACKOFF_MS. */
  backoffMs: number;
  /**
   * Moves the parked job a waiter id names back to its queue, when a released slot is free for it:
   * `woken` when it did, `gone` when the job is gone or already back in its queue (forgotten),
   * `active` when the job is running, caught between being refused a slot and being parked (put
   * back in line, so a later release wakes it).
   */
  wakeParked: (waiterId: string) => Promise<ParkedWake>;
  /** Source of the fallback delays' jitter, in [0, 1). @defaultValue Math.random */
  random?: () => number;
}

export type ParkedWake = 'woken' | 'gone' | 'active';

const MAX_BACKOFF_MS = 300_000;
/** A sync waiter that stops polling for this long no longer holds async jobs back. */
const SYNC_WAITER_TTL_MS = 2_000;
/** The line of parked prefetches of a domain nobody touched for a day is forgotten. */
const WAITERS_TTL_MS = 86_400_000;

/** The scripts, KEYS, ARGV and replies described at the top of each file in ./commands. */
const acquireSlot = defineRedisScript<[number, number, string]>('originAcquireSlot', 7, acquireSlotLua);
const renewSlot = defineRedisScript<number>('originRenewSlot', 1, renewSlotLua);
const releaseSlot = defineRedisScript<Array<number | string>>('originReleaseSlot', 4, releaseSlotLua);
const backOff = defineRedisScript<number>('originBackOff', 2, backOffLua);
const handOverSlot = defineRedisScript<number>('originHandOverSlot', 3, handOverSlotLua);

/** Most stale entries (jobs gone, or already back in their queue) one release skips looking for a parked job to wake. */
const MAX_STALE_WAITERS_PER_RELEASE = 10;

/**
 * Per-domain caps on parallel downloads, shared by every worker through Redis. A slot is a lease
 * that expires unless renewed, so a worker killed mid-download frees its slot within `leaseMs`.
 * A prefetch that finds its domain saturated is told how long to wait (the worker parks it as a
 * delayed job); the release of a slot wakes the oldest parked job of that domain at once, and the
 * returned delay is only the fallback for a lost wake-up.
 */
export class OriginSlots {
  private readonly limits: Map<string, PoolLimit>;
  private readonly defaultLimit: PoolLimit;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly options: OriginSlotsOptions,
  ) {
    const listed = Object.entries(options.domains).filter(([domain]) => domain !== 'default');
    this.limits = new Map(listed.map(([domain, limit]) => [normalizeHost(domain), poolLimitOf(limit)]));
    this.defaultLimit = poolLimitOf(options.domains.default);
  }

  poolOf(url: string): OriginPool {
    return originPoolOf(url, this.limits, this.defaultLimit);
  }

  /**
   * Takes a slot of the URL's pool, or says why not and how long to wait. `waiter.id` names the
   * job for its wake-up; a refused prefetch joins the pool's line of parked jobs unless
   * `waiter.parks` is false (it waits in its own process's line instead).
   */
  async tryAcquire(url: string, waiter: SlotWaiter): Promise<OriginSlotAttempt> {
    return (await this.attempt(url, waiter, null)).attempt;
  }

  /**
   * Takes the download lease on `leaseKey` (RedisLease) and, in the same round trip, tries for a
   * slot as tryAcquire does. `lease: null` when another download holds the lease: then no slot is
   * taken and the waiter joins no line. With the lease, the slot may still be refused.
   */
  async tryAcquireWithLease(url: string, waiter: SlotWaiter, leaseKey: string, leaseTtlMs: number): Promise<{ lease: RedisLease; attempt: OriginSlotAttempt } | { lease: null }> {
    const { attempt, leaseToken } = await this.attempt(url, waiter, { key: leaseKey, ttlMs: leaseTtlMs });
    if (attempt === null) return { lease: null };
    return { lease: RedisLease.taken(this.redis, leaseKey, leaseToken), attempt };
  }

  private async attempt(url: string, waiter: SlotWaiter, lease: { key: string; ttlMs: number }): Promise<{ attempt: OriginSlotAttempt | null; leaseToken: string }>;
  private async attempt(url: string, waiter: SlotWaiter, lease: null): Promise<{ attempt: OriginSlotAttempt; leaseToken: string }>;
  private async attempt(url: string, waiter: SlotWaiter, lease: { key: string; ttlMs: number } | null): Promise<{ attempt: OriginSlotAttempt | null; leaseToken: string }> {
    const { pool, cap, perSecond } = this.poolOf(url);
    const keys = this.keysOf(pool);
    const token = randomUUID();
    const leaseToken = lease ? randomUUID() : '';
    const intervalMs = perSecond === undefined ? 0 : Math.ceil(1000 / perSecond);
    const [taken, amount, reason] = await acquireSlot(
      this.redis,
      [keys.slots, keys.backoff, keys.syncWaiters, keys.asyncWaiters, keys.rate, keys.reservations, lease?.key ?? keys.slots],
      [
        cap,
        token,
        this.options.leaseMs,
        waiter.urgency,
        waiter.id,
        intervalMs,
        SYNC_WAITER_TTL_MS,
        WAITERS_TTL_MS,
        waiter.parks === false ? '0' : '1',
        leaseToken,
        lease?.ttlMs ?? 0,
      ],
    );
    if (reason === 'leased') return { attempt: null, leaseToken };
    if (taken === 1) return { attempt: { slot: this.heldSlot(pool, cap, token, perSecond !== undefined) }, leaseToken };
    const limits = { pool, cap, ...(perSecond === undefined ? {} : { perSecond }) };
    if (reason === 'backoff' || reason === 'rate') return { attempt: { reason, waitMs: Number(amount), ...limits }, leaseToken };
    return { attempt: { reason: 'saturated', waitMs: fallbackDelayMs(Number(amount), this.options.random ?? Math.random), ...limits }, leaseToken };
  }

  private keysOf(pool: string) {
    return {
      slots: originKeys.slots(this.prefix, pool),
      backoff: originKeys.backoff(this.prefix, pool),
      strikes: originKeys.strikes(this.prefix, pool),
      syncWaiters: originKeys.syncWaiters(this.prefix, pool),
      asyncWaiters: originKeys.asyncWaiters(this.prefix, pool),
      rate: originKeys.rate(this.prefix, pool),
      reservations: originKeys.reservations(this.prefix, pool),
    };
  }

  private heldSlot(pool: string, cap: number, token: string, rated: boolean): OriginSlot {
    const keys = this.keysOf(pool);
    const { leaseMs } = this.options;
    const renewal = setInterval(() => {
      renewSlot(this.redis, [keys.slots], [token, leaseMs]).catch(() => undefined);
    }, Math.max(50, Math.floor(leaseMs / 3)));
    renewal.unref();
    let released = false;
    return {
      pool,
      // A rated domain's starts are spaced by the acquire script, so its slots are never handed over.
      handOver: async () =>
        !released && !rated && Number(await handOverSlot(this.redis, [keys.slots, keys.syncWaiters, keys.strikes], [token, leaseMs])) === 1,
      release: async (originAnswered = false) => {
        if (released) return;
        released = true;
        clearInterval(renewal);
        const [free, ...owed] = await releaseSlot(
          this.redis,
          [keys.slots, keys.syncWaiters, keys.strikes, keys.asyncWaiters],
          [token, cap, originAnswered ? '1' : '0', originKeys.releases(this.prefix), pool],
        );
        await this.wakeParked(keys.asyncWaiters, Number(free), pairsOf(owed.map(String)));
      },
      backOff: async (retryAfterSeconds) => {
        const requestedMs = retryAfterSeconds === undefined ? 0 : Math.max(1_000, retryAfterSeconds * 1_000);
        return Number(await backOff(this.redis, [keys.backoff, keys.strikes], [requestedMs, this.options.backoffMs, MAX_BACKOFF_MS]));
      },
    };
  }

  /**
   * Wakes up to `count` parked jobs of a pool, oldest first: first `popped` (taken out of the line
   * by the release script), then more from the line in place of entries whose job is gone. A job
   * caught between being refused a slot and being parked (still running) keeps its place: it is
   * put back once this release is done, so one release never spins on it.
   */
  private async wakeParked(waitersKey: string, count: number, popped: Array<[string, string]>): Promise<void> {
    const running: Array<[string, string]> = [];
    let woken = 0;
    let stale = 0;
    // The script popped fewer than asked: the line is empty, nothing more to look for.
    const lineEmptied = popped.length < count;
    const next = async (): Promise<[string, string] | undefined> => {
      const entry = popped.shift();
      if (entry || lineEmptied) return entry;
      const [waiter, arrival] = await this.redis.zpopmin(waitersKey);
      return waiter === undefined || arrival === undefined ? undefined : [waiter, arrival];
    };
    while (woken < count && stale < MAX_STALE_WAITERS_PER_RELEASE) {
      const entry = await next();
      if (!entry) break;
      const [waiter, arrival] = entry;
      const wake = await this.options.wakeParked(waiter);
      if (wake === 'woken') woken++;
      else stale++;
      if (wake === 'active') running.push([arrival, waiter]);
    }
    // Popped by the script but not reached (too many stale ones): back in line, in their place.
    for (const [waiter, arrival] of popped) running.push([arrival, waiter]);
    if (running.length > 0) await this.redis.zadd(waitersKey, 'NX', ...running.flat());
  }
}

/** `[member, score, member, score, …]` as `[member, score]` pairs. */
function pairsOf(flat: string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
  return pairs;
}

/**
 * How long a refused prefetch stays parked if no release wakes it (say its slot's holder died):
 * later in line, longer, so a long line re-checks at a bounded rate. Jittered against herds.
 */
function fallbackDelayMs(rank: number, random: () => number): number {
  const base = Math.min(60_000, 1_000 + rank * 50);
  return Math.round(base * (0.8 + random() * 0.4));
}
