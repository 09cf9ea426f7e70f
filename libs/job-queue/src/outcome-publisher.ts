import type { Redis } from 'ioredis';
import type { SerializedError } from '@image-cloud/errors';
import { redisKeys } from './redis-keys';

/** The notice a worker sends when a job attempt ends. Waiters treat it as a hint and re-check storage. */
export type OutcomeNotice = { jobId: string; ok: true; lane?: string } | { jobId: string; ok: false; error: SerializedError };

export async function publishOutcome(redis: Redis, prefix: string, notice: OutcomeNotice): Promise<void> {
  await redis.publish(redisKeys.outcomeChannel(prefix), JSON.stringify(notice));
}
