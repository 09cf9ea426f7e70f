import { createRedisClient } from '@image-cloud/redis-address';
import type { Redis } from 'ioredis';

/**
 * Connection for BullMQ workers, QueueEvents and subscribers: commands wait through a Redis outage
 * (maxRetriesPerRequest null) so workers pause and resume by themselves instead of dying.
 */
export function createBlockingConnection(redisUrl: string, name: string): Redis {
  return createRedisClient(redisUrl, { maxRetriesPerRequest: null, connectionName: name, lazyConnect: false });
}

/**
 * Connection for the request path: fails fast when Redis is away (no offline queue, one retry), so
 * the API answers 503 at once instead of hanging. Passed to BullMQ as an instance so it is not
 * rewritten to maxRetriesPerRequest null.
 */
export function createFailFastConnection(redisUrl: string, name: string): Redis {
  return createRedisClient(redisUrl, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2_000,
    connectionName: name,
  });
}

/**
 * BullMQ needs noeviction: an evicted lock or job key silently loses work. Returns the policy when
 * it is wrong, null when it is right or cannot be read (managed Redis may forbid CONFIG).
 */
export async function wrongEvictionPolicy(redis: Redis): Promise<string | null> {
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
    const policy = reply[1];
    return policy && policy !== 'noeviction' ? policy : null;
  } catch {
    return null;
  }
}
