import { randomBytes } from 'node:crypto';
import { createRedisClient } from '@image-cloud/redis-address';
import type { Redis } from 'ioredis';

/** The Redis every test talks to: REDIS_URL, or the machine's default one. */
export const TEST_REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/**
 * A key prefix no other test file or running system uses, with a hash tag so it also works on a
 * Redis Cluster. Every BullMQ queue and key of the test lives under it.
 */
export function uniquePrefix(name: string): string {
  return `{test-${name.replace(/[^A-Za-z0-9-]/g, '-')}-${randomBytes(4).toString('hex')}}`;
}

/** Calls `onKeys` with every batch of keys under the prefix (SCAN, so a big Redis is not blocked). */
async function scanPrefix(redisUrl: string, prefix: string, onKeys: (redis: Redis, keys: string[]) => Promise<void>): Promise<void> {
  const redis: Redis = createRedisClient(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  await redis.connect();
  try {
    const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await onKeys(redis, keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Removes every key under the prefix (call in afterAll so tests leave nothing behind). */
export async function deleteKeysWithPrefix(redisUrl: string, prefix: string): Promise<number> {
  let deleted = 0;
  await scanPrefix(redisUrl, prefix, async (redis, keys) => {
    deleted += await redis.unlink(...keys);
  });
  return deleted;
}

/** Number of keys under the prefix (to assert a test left nothing behind). */
export async function countKeysWithPrefix(redisUrl: string, prefix: string): Promise<number> {
  let count = 0;
  await scanPrefix(redisUrl, prefix, async (_redis, keys) => {
    count += keys.length;
  });
  return count;
}
