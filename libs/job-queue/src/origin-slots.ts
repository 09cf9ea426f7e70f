import { randomUUID } from 'node:crypto';
import { Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { FETCH_QUEUE_NAME, type LaneUrgency } from '@image-cloud/contracts';
import { LUA_NOW_MS } from './redis-clock';
import { redisKeys } from './redis-keys';
import { createQueue } from './render-queues';

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

export type OriginSlotAttempt =
  | { slot: OriginSlot }
  | { slot?: undefined; reason: 'saturated' | 'backoff' | 'rate'; waitMs: number; pool: string; cap: number; perSecond?: number };

/** A held download slot; released when the download ends, renewed while it runs. */
export interface OriginSlot {
  readonly pool: string;
  /**
   * Keeps the slot for another download of the same domain in this process, instead of releasing
   * it: true when it may (no sync waiter anywhere is owed it, no rate to respect). The lease is
   * renewed and stays with this object. On false the caller releases it as usual.
   */
  handOver(): Promise<boolean>;
  /** Frees the slot; `originAnswered` ends a run of 429/503 answers, so the next back-off starts short again. */
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
}

const MAX_BACKOFF_MS = 300_000;
/** A sync waiter that stops polling for this long no longer holds async jobs back. */
const SYNC_WAITER_TTL_MS = 2_000;
/** The line of parked prefetches of a domain nobody touched for a day is forgotten. */
const WAITERS_TTL_MS = 86_400_000;

/**
 * KEYS: slots, backoff, sync waiters, async waiters, rate, reservations.
 * ARGV: cap, token, lease ms, urgency, waiter id, ms between starts (0: no rate).
 * Slots and sync waiters are sorted sets scored by expiry; async waiters by arrival (FIFO wake-ups).
 * Free slots are left to live sync waiters first: somebody waiting for an answer beats a prefetch.
 * With a rate, starts are spaced at least the interval apart (`last`); a prefetch refused by the
 * rate reserves the next free start time after the others (`horizon`), so parked prefetches come
 * back one at a time instead of as a herd, and newcomers queue behind them.
 * Returns {1} when the slot is taken, else {0, amount, reason}: the back-off left ('backoff'),
 * the ms until the reserved start ('rate') or the waiter's place in line ('saturated').
 */
const ACQUIRE = `${LUA_NOW_MS}
local backoff = redis.call('PTTL', KEYS[2])
if backoff > 0 then return {0, backoff, 'backoff'} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local leaseMs = tonumber(ARGV[3])
local isSync = ARGV[4] == 'sync'
local waiter = ARGV[5]
local liveSync = redis.call('ZCARD', KEYS[3])
local free = tonumber(ARGV[1]) - redis.call('ZCARD', KEYS[1])
if not isSync then free = free - liveSync end
if free <= 0 then
  if isSync then
    redis.call('ZADD', KEYS[3], now + ${SYNC_WAITER_TTL_MS}, waiter)
    redis.call('PEXPIRE', KEYS[3], ${SYNC_WAITER_TTL_MS * 2})
    return {0, 0, 'saturated'}
  end
  redis.call('ZADD', KEYS[4], 'NX', now, waiter)
  redis.call('PEXPIRE', KEYS[4], ${WAITERS_TTL_MS})
  return {0, redis.call('ZRANK', KEYS[4], waiter), 'saturated'}
end
local interval = tonumber(ARGV[6])
if interval > 0 then
  local last = tonumber(redis.call('HGET', KEYS[5], 'last') or 0)
  local ready = now >= last + interval
  if isSync then
    if not ready then
      redis.call('ZADD', KEYS[3], now + ${SYNC_WAITER_TTL_MS}, waiter)
      redis.call('PEXPIRE', KEYS[3], ${SYNC_WAITER_TTL_MS * 2})
      return {0, last + interval - now, 'rate'}
    end
  else
    local reserved = tonumber(redis.call('HGET', KEYS[6], waiter) or 0)
    if reserved > now then return {0, reserved - now, 'rate'} end
    local horizon = tonumber(redis.call('HGET', KEYS[5], 'horizon') or 0)
    if (not ready) or liveSync > 0 or (reserved == 0 and horizon > now) then
      local target = math.max(horizon, last + interval, now + 1)
      redis.call('HSET', KEYS[6], waiter, target)
      redis.call('HSET', KEYS[5], 'horizon', target + interval)
      redis.call('PEXPIRE', KEYS[5], ${WAITERS_TTL_MS})
      redis.call('PEXPIRE', KEYS[6], ${WAITERS_TTL_MS})
      redis.call('ZREM', KEYS[4], waiter)
      return {0, target - now, 'rate'}
    end
    if reserved > 0 then redis.call('HDEL', KEYS[6], waiter) end
  end
  redis.call('HSET', KEYS[5], 'last', now)
  redis.call('PEXPIRE', KEYS[5], ${WAITERS_TTL_MS})
end
redis.call('ZADD', KEYS[1], now + leaseMs, ARGV[2])
redis.call('PEXPIRE', KEYS[1], leaseMs * 2)
if isSync then redis.call('ZREM', KEYS[3], waiter) else redis.call('ZREM', KEYS[4], waiter) end
return {1, 0, ''}`;

/**
 * KEYS: slots, sync waiters, strikes. ARGV: token, lease ms. After a successful download, keeps
 * its slot for another download of this process unless a live sync waiter is owed it (free slots
 * go to sync waiters first); the answer ends a run of busy answers, as a release would.
 * Returns 1 when kept, 0 when the caller must release it.
 */
const HAND_OVER = `${LUA_NOW_MS}
redis.call('DEL', KEYS[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) > 0 then return 0 end
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return 1`;

/** KEYS: slots. ARGV: token, lease ms. Extends a slot still held. */
const RENEW = `${LUA_NOW_MS}
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
end
return 0`;

/**
 * KEYS: slots, sync waiters, strikes. ARGV: token, cap, '1' when the origin answered. Frees the
 * slot (an answer ends a run of busy answers); returns how many parked prefetches to wake: one
 * per free slot, none while a sync waiter is polling (it takes the slot itself).
 */
const RELEASE = `${LUA_NOW_MS}
redis.call('ZREM', KEYS[1], ARGV[1])
if ARGV[3] == '1' then redis.call('DEL', KEYS[3]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
return math.max(0, tonumber(ARGV[2]) - redis.call('ZCARD', KEYS[1]) - redis.call('ZCARD', KEYS[2]))`;

/** Most stale entries (jobs gone, or already back in their queue) one release skips looking for a parked job to wake. */
const MAX_STALE_WAITERS_PER_RELEASE = 10;

/** A waiting fetch job as a wake-up names it: `fetch:<job id>`. */
const FETCH_WAITER_PREFIX = 'fetch:';

/**
 * KEYS: backoff, strikes. ARGV: requested ms (0: none given), base ms, max ms. Without a
 * Retry-After each strike in a row doubles the back-off. Never shortens a back-off already set.
 */
const BACK_OFF = `local strikes = redis.call('INCR', KEYS[2])
local ms = tonumber(ARGV[1])
if ms <= 0 then ms = math.min(tonumber(ARGV[2]) * 2 ^ math.min(strikes - 1, 16), tonumber(ARGV[3])) end
ms = math.floor(ms)
redis.call('PEXPIRE', KEYS[2], ms * 2 + 60000)
if redis.call('PTTL', KEYS[1]) < ms then redis.call('SET', KEYS[1], '1', 'PX', ms) end
return redis.call('PTTL', KEYS[1])`;

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
  private fetchQueue: Queue | null = null;

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

  /** Takes a slot of the URL's pool, or says why not and how long to wait. `waiter.id` names the job for its wake-up. */
  async tryAcquire(url: string, waiter: { urgency: LaneUrgency; id: string }): Promise<OriginSlotAttempt> {
    const { pool, cap, perSecond } = this.poolOf(url);
    const keys = this.keysOf(pool);
    const token = randomUUID();
    const intervalMs = perSecond === undefined ? 0 : Math.ceil(1000 / perSecond);
    const [taken, amount, reason] = (await this.redis.eval(
      ACQUIRE,
      6,
      keys.slots,
      keys.backoff,
      keys.syncWaiters,
      keys.asyncWaiters,
      keys.rate,
      keys.reservations,
      cap,
      token,
      this.options.leaseMs,
      waiter.urgency,
      waiter.id,
      intervalMs,
    )) as [number, number, string];
    if (taken === 1) return { slot: this.heldSlot(pool, cap, token, perSecond !== undefined) };
    const limits = { pool, cap, ...(perSecond === undefined ? {} : { perSecond }) };
    if (reason === 'backoff' || reason === 'rate') return { reason, waitMs: Number(amount), ...limits };
    return { reason: 'saturated', waitMs: fallbackDelayMs(Number(amount)), ...limits };
  }

  async close(): Promise<void> {
    await this.fetchQueue?.close();
    this.fetchQueue = null;
  }

  private keysOf(pool: string) {
    return {
      slots: redisKeys.originSlots(this.prefix, pool),
      backoff: redisKeys.originBackoff(this.prefix, pool),
      strikes: redisKeys.originStrikes(this.prefix, pool),
      syncWaiters: redisKeys.originSyncWaiters(this.prefix, pool),
      asyncWaiters: redisKeys.originAsyncWaiters(this.prefix, pool),
      rate: redisKeys.originRate(this.prefix, pool),
      reservations: redisKeys.originReservations(this.prefix, pool),
    };
  }

  private heldSlot(pool: string, cap: number, token: string, rated: boolean): OriginSlot {
    const keys = this.keysOf(pool);
    const { leaseMs } = this.options;
    const renewal = setInterval(() => {
      this.redis.eval(RENEW, 1, keys.slots, token, leaseMs).catch(() => undefined);
    }, Math.max(50, Math.floor(leaseMs / 3)));
    renewal.unref();
    let released = false;
    return {
      pool,
      // A rated domain's starts are spaced by the acquire script, so its slots are never handed over.
      handOver: async () => !released && !rated && Number(await this.redis.eval(HAND_OVER, 3, keys.slots, keys.syncWaiters, keys.strikes, token, leaseMs)) === 1,
      release: async (originAnswered = false) => {
        if (released) return;
        released = true;
        clearInterval(renewal);
        const free = Number(await this.redis.eval(RELEASE, 3, keys.slots, keys.syncWaiters, keys.strikes, token, cap, originAnswered ? '1' : '0'));
        let woken = 0;
        let stale = 0;
        while (woken < free && stale < MAX_STALE_WAITERS_PER_RELEASE) {
          const [waiter, arrival] = await this.redis.zpopmin(keys.asyncWaiters);
          if (waiter === undefined || arrival === undefined) break;
          if (await this.wake(keys.asyncWaiters, waiter, arrival)) woken++;
          else stale++;
        }
      },
      backOff: async (retryAfterSeconds) => {
        const requestedMs = retryAfterSeconds === undefined ? 0 : Math.max(1_000, retryAfterSeconds * 1_000);
        return Number(await this.redis.eval(BACK_OFF, 2, keys.backoff, keys.strikes, requestedMs, this.options.backoffMs, MAX_BACKOFF_MS));
      },
    };
  }

  /**
   * Moves a parked job back to its queue; true when it did. A job caught between being refused a
   * slot and being parked is put back in line, so a later release wakes it; a job that is gone or
   * already back in its queue is forgotten.
   */
  private async wake(waitersKey: string, waiter: string, arrival: string): Promise<boolean> {
    if (!waiter.startsWith(FETCH_WAITER_PREFIX)) return false;
    const job = await Job.fromId(this.queue(), waiter.slice(FETCH_WAITER_PREFIX.length));
    if (!job) return false;
    try {
      await job.promote();
      return true;
    } catch {
      if ((await job.getState()) === 'active') await this.redis.zadd(waitersKey, 'NX', arrival, waiter);
      return false;
    }
  }

  private queue(): Queue {
    this.fetchQueue ??= createQueue(FETCH_QUEUE_NAME, this.redis, this.prefix);
    return this.fetchQueue;
  }
}

/**
 * How long a refused prefetch stays parked if no release wakes it (say its slot's holder died):
 * later in line, longer, so a long line re-checks at a bounded rate. Jittered against herds.
 */
function fallbackDelayMs(rank: number): number {
  const base = Math.min(60_000, 1_000 + rank * 50);
  return Math.round(base * (0.8 + Math.random() * 0.4));
}
