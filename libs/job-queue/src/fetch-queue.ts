import type { JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { ASYNC_PRIORITY, FETCH_JOB_NAME, FETCH_QUEUE_NAME, type FetchJob, fetchJobIdOf, fetchJobSchema } from '@image-cloud/contracts';
import { redisKeys } from './redis-keys';
import { orUnavailable } from './redis-unavailable';
import { createQueue, jobOptionsFor } from './render-queues';

/** BullMQ's lowest priority (2^21 − 1); later jobs of a very busy tenant share it. */
const MAX_PRIORITY = 2 ** 21 - 1;
const FAIR_SHARE_IDLE_SECONDS = 3600;

/**
 * The fetch stage's queue: one download job per original and urgency. Sync fetches have no
 * priority (served first); prefetches take per-tenant consecutive priorities, so tenants share the
 * stage round-robin.
 */
export class FetchQueue {
  readonly queue: Queue;

  constructor(
    private readonly connection: Redis,
    private readonly prefix: string,
    private readonly asyncAttempts: number,
  ) {
    this.queue = createQueue(FETCH_QUEUE_NAME, connection, prefix);
  }

  /** Adds the job unless an identical one is queued or running (same id). Returns the job id. */
  async ensureQueued(job: FetchJob): Promise<string> {
    const payload = fetchJobSchema.parse(job);
    const jobId = fetchJobIdOf(payload);
    await orUnavailable(() => this.queue.add(FETCH_JOB_NAME, payload, this.optionsFor(payload, jobId)));
    return jobId;
  }

  /**
   * Adds many prefetches in one round trip. With `fairShareKey` (the tenant), the jobs get
   * consecutive priorities from that tenant's own counter, so tenants' prefetches interleave
   * round-robin: a tenant that queued 100 000 URLs does not hold back another tenant's 50.
   */
  async enqueueBulk(jobs: FetchJob[], options: { fairShareKey?: string } = {}): Promise<void> {
    if (jobs.length === 0) return;
    const first = options.fairShareKey ? await this.reservePriorities(options.fairShareKey, jobs.length) : null;
    const entries = jobs.map((job, i) => {
      const payload = fetchJobSchema.parse(job);
      const opts = this.optionsFor(payload, fetchJobIdOf(payload));
      if (first !== null && payload.urgency === 'async') opts.priority = Math.min(MAX_PRIORITY, first + i);
      return { name: FETCH_JOB_NAME, data: payload, opts };
    });
    await orUnavailable(() => this.queue.addBulk(entries));
  }

  /** Which of these job ids are queued or running right now. */
  async existingJobIds(jobIds: string[]): Promise<Set<string>> {
    const pipeline = this.connection.pipeline();
    for (const jobId of jobIds) pipeline.exists(this.queue.toKey(jobId));
    const replies = (await orUnavailable(() => pipeline.exec())) ?? [];
    return new Set(jobIds.filter((_, i) => replies[i]?.[1] === 1));
  }

  async jobState(jobId: string): Promise<string | null> {
    const state = await orUnavailable(() => this.queue.getJobState(jobId));
    return state === 'unknown' ? null : state;
  }

  async close(): Promise<void> {
    await this.queue.close();
  }

  private optionsFor(job: FetchJob, jobId: string): JobsOptions {
    return { ...jobOptionsFor(job.urgency, this.asyncAttempts), jobId };
  }

  /** The first of `count` consecutive priorities of a tenant; its counter restarts after an idle hour. */
  private async reservePriorities(fairShareKey: string, count: number): Promise<number> {
    const key = redisKeys.fairShare(this.prefix, fairShareKey);
    const replies = await orUnavailable(() => this.connection.multi().incrby(key, count).expire(key, FAIR_SHARE_IDLE_SECONDS).exec());
    const last = Number(replies?.[0]?.[1] ?? count);
    return Math.max(ASYNC_PRIORITY, last - count + 1);
  }
}
