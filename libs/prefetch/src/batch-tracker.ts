import type { Redis } from 'ioredis';
import type { BatchCounts, BatchProgress } from '@image-cloud/contracts';
import { type FinalOutcome, type HeldLease, orUnavailable } from '@image-cloud/job-queue';
import { defineRedisScript } from '@image-cloud/redis-scripts';
import finishedLua from './commands/batch-finished-3.lua';

const finishedScript = defineRedisScript<number>('batchFinished', 3, finishedLua);

/** Batches are kept a week after their last change. */
const BATCH_TTL_SECONDS = 7 * 24 * 3600;

/** A batch's hash, beside BullMQ's keys under the same prefix. */
const batchKey = (prefix: string, batchId: string) => `${prefix}:batch:${batchId}`;

/** Progress of fire_and_forget batches, in one Redis hash per batch, updated by the workers. */
export class BatchTracker {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async create(batchId: string, tenant: string | null, counts: BatchCounts): Promise<void> {
    const key = batchKey(this.prefix, batchId);
    await this.redis
      .multi()
      .hset(key, { ...counts, done: 0, tenant: tenant ?? '', createdAt: new Date().toISOString() })
      .expire(key, BATCH_TTL_SECONDS)
      .exec();
  }

  /** Updates the submission counts as chunks of the batch are enqueued (workers' counts stay). */
  async setCounts(batchId: string, counts: BatchCounts): Promise<void> {
    const { total, accepted, duplicate, rejected } = counts;
    await this.redis.hset(batchKey(this.prefix, batchId), { total, accepted, duplicate, rejected });
  }

  /** `count` URLs counted accepted turned out to be queued already when they were fed: duplicates after all. */
  async countLateDuplicates(batchId: string, count: number): Promise<void> {
    const key = batchKey(this.prefix, batchId);
    await this.redis.multi().hincrby(key, 'accepted', -count).hincrby(key, 'duplicate', count).exec();
  }

  /**
   * Worker side: one prefetch of the batch ended for good (done, or failed with `code`), counted
   * once however often its job (`jobKey`, the BullMQ job's hash) runs to an end. Returns whether
   * this call counted it. `lease`: the download lease the job still holds, released in the same
   * round trip (the job's last one).
   */
  async finished(batchId: string, outcome: FinalOutcome, jobKey: string, lease?: HeldLease): Promise<boolean> {
    const field = outcome.ok ? 'done' : `failed:${outcome.code}`;
    const batch = batchKey(this.prefix, batchId);
    // Without a lease the third key is never read; the batch's own key keeps every key in one slot.
    const counted = await finishedScript(this.redis, [jobKey, batch, lease?.key ?? batch], [field, BATCH_TTL_SECONDS, lease?.token ?? '']);
    return counted === 1;
  }

  /** Throws 503 `unavailable` while Redis does not answer. */
  async progress(batchId: string): Promise<BatchProgress | null> {
    const fields = await orUnavailable(() => this.redis.hgetall(batchKey(this.prefix, batchId)));
    if (!fields['createdAt']) return null;
    const number = (name: string) => Number(fields[name] ?? 0);
    const failed: Record<string, number> = {};
    for (const [name, value] of Object.entries(fields)) if (name.startsWith('failed:')) failed[name.slice(7)] = Number(value);
    const failedTotal = Object.values(failed).reduce((sum, n) => sum + n, 0);
    const pending = Math.max(0, number('accepted') - number('done') - failedTotal);
    return {
      batchId,
      tenant: fields['tenant'] || null,
      createdAt: fields['createdAt'],
      total: number('total'),
      accepted: number('accepted'),
      duplicate: number('duplicate'),
      rejected: number('rejected'),
      done: number('done'),
      failed,
      pending,
      complete: pending === 0,
    };
  }
}
