import IORedis from 'ioredis';

/** BullMQ's per-queue keys that hold jobs not yet finished: lists, and sorted sets. */
const LIST_SUFFIXES = [':wait', ':active', ':paused'];
const SET_SUFFIXES = [':prioritized', ':delayed', ':waiting-children'];

/**
 * Jobs queued or running in any BullMQ queue under `prefix`, whatever the queues are called (render
 * lanes, a fetch stage, …): what "the queue is empty" means to someone who only sees Redis.
 */
export async function queuedJobs(redisUrl: string, prefix: string): Promise<number> {
  const redis = new IORedis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  await redis.connect();
  try {
    const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
    let total = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const type = LIST_SUFFIXES.some((suffix) => key.endsWith(suffix)) || SET_SUFFIXES.some((suffix) => key.endsWith(suffix)) ? await redis.type(key) : '';
        if (type === 'list') total += await redis.llen(key);
        else if (type === 'zset') total += await redis.zcard(key);
      }
    } while (cursor !== '0');
    return total;
  } finally {
    redis.disconnect();
  }
}
