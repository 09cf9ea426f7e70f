import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { defineRedisScript } from '@image-cloud/redis-scripts';
import releaseLeaseLua from './commands/release-lease-1.lua';

const releaseLease = defineRedisScript<number>('leaseRelease', 1, releaseLeaseLua);

/**
 * A lease on a Redis key that expires by itself, so a worker killed while holding it blocks the
 * others for at most `ttlMs`. Released only by its owner.
 */
export class RedisLease {
  private constructor(
    private readonly redis: Redis,
    readonly key: string,
    /** The owner's token: a script that frees the lease with other work compares it, as release() does. */
    readonly token: string,
  ) {}

  /** Takes the lease, or resolves to null when somebody else holds it. */
  static async tryAcquire(redis: Redis, key: string, ttlMs: number): Promise<RedisLease | null> {
    const token = randomUUID();
    const reply = await redis.set(key, token, 'PX', ttlMs, 'NX');
    return reply === 'OK' ? new RedisLease(redis, key, token) : null;
  }

  /** A lease a script took under `token` (OriginSlots takes one with a download slot). */
  static taken(redis: Redis, key: string, token: string): RedisLease {
    return new RedisLease(redis, key, token);
  }

  /** True while somebody holds a lease on the key. */
  static async isHeld(redis: Redis, key: string): Promise<boolean> {
    return (await redis.exists(key)) === 1;
  }

  async release(): Promise<void> {
    await releaseLease(this.redis, [this.key], [this.token]);
  }
}
