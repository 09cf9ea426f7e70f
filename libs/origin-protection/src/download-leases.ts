import type { Redis } from 'ioredis';
import type { OriginSlotAttempt, OriginSlots, SlotWaiter } from './origin-slots';
import { originKeys } from './redis-keys';
import { RedisLease } from './redis-lease';

/** The fetch pipeline's DownloadLeases port, in Redis. */
export interface DownloadLeases {
  tryAcquire(originalKey: string): Promise<RedisLease | null>;
  isHeld(originalKey: string): Promise<boolean>;
  tryAcquireWithSlot(originalKey: string, url: string, waiter: SlotWaiter): Promise<{ lease: RedisLease; attempt: OriginSlotAttempt } | null>;
}

/**
 * "One download per original" leases in Redis. A download that goes to the origin next takes its
 * lease and asks for its domain's slot in one script (OriginSlots.tryAcquireWithLease), so a
 * prefetch costs one round trip fewer before its download starts.
 */
export function downloadLeases(redis: Redis, prefix: string, originSlots: OriginSlots, ttlMs: number): DownloadLeases {
  const keyOf = (originalKey: string) => originKeys.downloadLock(prefix, originalKey);
  return {
    tryAcquire: (originalKey) => RedisLease.tryAcquire(redis, keyOf(originalKey), ttlMs),
    isHeld: (originalKey) => RedisLease.isHeld(redis, keyOf(originalKey)),
    tryAcquireWithSlot: async (originalKey, url, waiter) => {
      const taken = await originSlots.tryAcquireWithLease(url, waiter, keyOf(originalKey), ttlMs);
      return taken.lease ? taken : null;
    },
  };
}
