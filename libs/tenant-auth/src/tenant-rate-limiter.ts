import type { Redis } from 'ioredis';
import { defineRedisScript } from '@image-cloud/redis-scripts';
import leaseTokensLua from './commands/lease-tokens-1.lua';

/**
 * Token bucket in one Lua call, on Redis's clock, so every server replica shares the same bucket
 * and the same time. The bucket starts full: over t seconds at most burst + rate × t tokens leave
 * it. It keeps working when Redis is at maxmemory (allow-oom): a full Redis must not lift the limits.
 */
const leaseTokens = defineRedisScript<[number, number]>('tenantLeaseTokens', 1, leaseTokensLua, { flags: ['allow-oom'] });

/** A tenant's bucket, beside BullMQ's keys under the same prefix. */
const bucketKey = (prefix: string, tenant: string) => `${prefix}:rate:${tenant}`;

/** A lease holds at most what the tenant earns in this time: the overshoot stays a few tens of ms of its rate. */
export const LEASE_WINDOW_MS = 50;
/** …and at most this part of its burst, so a small bucket is not emptied by one process. */
export const LEASE_BURST_FRACTION = 0.1;
/** Leased tokens lapse this long after they were asked for: an idle process does not hoard a tenant's budget. */
export const LEASE_LIFETIME_MS = 100;

/**
 * The most tokens one lease takes from a tenant's bucket: 1 for tenants below 40 requests per
 * second (or with a burst below 20), which therefore make one Redis call per request as before.
 */
export function largestLease(requestsPerSecond: number, burst: number): number {
  return Math.max(1, Math.min(Math.floor((requestsPerSecond * LEASE_WINDOW_MS) / 1000), Math.floor(burst * LEASE_BURST_FRACTION)));
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

/** What one lease call got from Redis. */
interface LeaseOutcome {
  granted: number;
  retryAfterMs: number;
}

/** One tenant's leased tokens in this process. Times are performance.now() milliseconds. */
class TenantLease {
  readonly largest: number;
  private tokens = 0;
  private expiresAt = 0;
  /** Tokens of the last lease and how many of them were handed out: this process's demand. */
  private size = 0;
  private used = 0;
  /** Redis refused until then. No token comes back to a bucket sooner (tokens are never returned). */
  private refusedUntil = 0;
  /** The lease call under way; every take() waiting for tokens shares it. */
  inFlight: Promise<LeaseOutcome> | undefined;
  /** take() calls waiting for inFlight, counted into the size of a lease asked for in the same tick. */
  waiting = 0;

  constructor(
    readonly requestsPerSecond: number,
    readonly burst: number,
  ) {
    this.largest = largestLease(requestsPerSecond, burst);
  }

  /** Hands out one leased token if a live one is left. */
  takeLeased(now: number): boolean {
    if (this.tokens === 0 || now >= this.expiresAt) return false;
    this.tokens--;
    this.used++;
    return true;
  }

  /** The refusal Redis gave, while it still holds. */
  refusal(now: number): RateDecision | undefined {
    return now < this.refusedUntil ? { allowed: false, retryAfterMs: Math.ceil(this.refusedUntil - now) } : undefined;
  }

  /**
   * Tokens to ask for: doubles while this process uses whole leases (a slow start, so one request
   * now and then leases one token), shrinks to what it used when a lease lapsed half-used, starts
   * again from one after a pause; never fewer than the takes waiting, never more than `largest`.
   */
  nextSize(now: number): number {
    const paused = this.size === 0 || now - this.expiresAt > LEASE_LIFETIME_MS;
    const demand = paused ? 1 : this.used === this.size ? 2 * this.size : Math.max(1, this.used);
    return Math.min(this.largest, Math.max(this.waiting, demand));
  }

  record(askedAt: number, { granted, retryAfterMs }: LeaseOutcome): void {
    // Counted from when the lease was asked for, before Redis granted it: a token is never used
    // more than LEASE_LIFETIME_MS after it left the bucket, nor a refusal kept past Redis's own.
    this.tokens = granted;
    this.size = granted;
    this.used = 0;
    this.expiresAt = askedAt + LEASE_LIFETIME_MS;
    this.refusedUntil = granted > 0 ? 0 : askedAt + retryAfterMs;
  }
}

/**
 * Per-tenant request limits (policy 4: peak control per tenant, `requestsPerSecond` and `burst`),
 * cluster-wide in Redis.
 *
 * Each process leases tokens from the tenant's Redis bucket, which stays the one truth, in small
 * batches (one script call each) and hands them out itself, so most take() calls make no Redis
 * call. A lease holds at most L = largestLease(rate, burst) tokens: about what the tenant earns in
 * LEASE_WINDOW_MS, at most LEASE_BURST_FRACTION of its burst, 1 for low-rate tenants. Guarantees:
 *
 * - Over any window of t seconds a tenant gets at most burst + rate × t + P × L requests across P
 *   processes (the bucket lets at most burst + rate × t tokens out during the window; what the
 *   processes held when it began is at most L each, in fact L − 1, since the take that asked for a
 *   lease uses one of its tokens at once). With L = 1 that is burst + rate × t, as without leases.
 * - Leased tokens lapse LEASE_LIFETIME_MS after they were asked for, unused ones are lost (never
 *   returned): so a process may be refused while another still holds leased tokens, for at most
 *   LEASE_LIFETIME_MS, and an idle process wastes at most one lease per lifetime.
 * - Concurrent take() calls of one process that find no token share one lease call.
 * - A refused lease answers with Redis's wait until the next token; this process then refuses the
 *   tenant by itself until that time (no token can come back sooner), without calling Redis.
 * - Redis failing: take() rejects, as without leases. Leased tokens and refusals are used only while
 *   the connection is up; once ioredis has seen it drop, take() asks Redis and rejects. Until it sees
 *   that (a Redis hanging without closing the connection), live leased tokens are still handed out.
 */
export class TenantRateLimiter {
  private readonly leases = new Map<string, TenantLease>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async take(tenant: string, requestsPerSecond: number, burst: number): Promise<RateDecision> {
    const lease = this.leaseOf(tenant, requestsPerSecond, burst);
    if (this.redis.status === 'ready') {
      const now = performance.now();
      if (lease.takeLeased(now)) return { allowed: true };
      const refusal = lease.refusal(now);
      if (refusal) return refusal;
    }
    lease.waiting++;
    try {
      for (;;) {
        const outcome = await (lease.inFlight ??= this.askForLease(tenant, lease));
        if (lease.takeLeased(performance.now())) return { allowed: true };
        if (outcome.granted === 0) return { allowed: false, retryAfterMs: outcome.retryAfterMs };
        // Takes that shared this lease used all its tokens: the next lease, shared again.
      }
    } finally {
      lease.waiting--;
    }
  }

  private leaseOf(tenant: string, requestsPerSecond: number, burst: number): TenantLease {
    const known = this.leases.get(tenant);
    if (known && known.requestsPerSecond === requestsPerSecond && known.burst === burst) return known;
    const lease = new TenantLease(requestsPerSecond, burst);
    this.leases.set(tenant, lease);
    return lease;
  }

  private async askForLease(tenant: string, lease: TenantLease): Promise<LeaseOutcome> {
    // One microtask: the takes of the same tick join before the lease's size is chosen.
    await Promise.resolve();
    const askedAt = performance.now();
    try {
      const [granted, retryAfterMs] = await leaseTokens(this.redis, [bucketKey(this.prefix, tenant)], [lease.requestsPerSecond, lease.burst, lease.nextSize(askedAt)]);
      const outcome = { granted, retryAfterMs };
      lease.record(askedAt, outcome);
      return outcome;
    } finally {
      lease.inFlight = undefined;
    }
  }
}
