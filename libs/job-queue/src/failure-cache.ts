import type { Redis } from 'ioredis';
import { ImageCloudError, type SerializedError } from '@image-cloud/errors';
import { redisKeys } from './redis-keys';

interface StoredFailure {
  error: SerializedError;
  expiresAt: number;
}

/**
 * Failed results, per original, so a 404 or an undecodable image is answered from memory for a
 * while (negative caching) and one DEL forgets every failure of an image. Retryable failures are
 * kept only long enough to reach the clients already waiting; they are never served as final.
 */
export class FailureCache {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async record(originalKey: string, jobId: string, error: ImageCloudError, ttlSeconds: number): Promise<void> {
    if (ttlSeconds <= 0) return;
    const key = redisKeys.failures(this.prefix, originalKey);
    const value: StoredFailure = { error: error.toJSON(), expiresAt: Date.now() + ttlSeconds * 1000 };
    await this.redis
      .multi()
      .hset(key, jobId, JSON.stringify(value))
      .expire(key, ttlSeconds, 'GT')
      .expire(key, ttlSeconds, 'NX')
      .exec();
  }

  /** The failure recorded for a job, or null when none is recorded or it has expired. */
  async get(originalKey: string, jobId: string): Promise<ImageCloudError | null> {
    const raw = await this.redis.hget(redisKeys.failures(this.prefix, originalKey), jobId);
    if (!raw) return null;
    try {
      const stored = JSON.parse(raw) as StoredFailure;
      return stored.expiresAt > Date.now() ? ImageCloudError.fromJSON(stored.error) : null;
    } catch {
      return null;
    }
  }

  async clear(originalKey: string, jobId: string): Promise<void> {
    await this.redis.hdel(redisKeys.failures(this.prefix, originalKey), jobId);
  }

  async clearAll(originalKey: string): Promise<void> {
    await this.redis.del(redisKeys.failures(this.prefix, originalKey));
  }
}
