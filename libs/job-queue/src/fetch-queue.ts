import type { JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { ASYNC_PRIORITY, FETCH_JOB_NAME, type FetchJob, type LaneUrgency, URGENCIES, fetchJobIdOf, fetchJobSchema, fetchQueueNameOf } from '@image-cloud/contracts';
import { redisKeys } from './redis-keys';
import { orUnavailable } from './redis-unavailable';
import { createQueue, jobOptionsFor } from './render-queues';

/** BullMQ's lowest priority (2^21 − 1); later jobs of a very busy tenant share it. */
const MAX_PRIORITY = 2 ** 21 - 1;
const FAIR_SHARE_IDLE_SECONDS = 3600;

/**
 * The fetch stage's two queues: one download job per original and urgency. Sync fetches have a
 * queue of their own (never behind a prefetch); prefetches take per-tenant consecutive
 * priorities, so tenants share the stage round-robin.
 */
export class FetchQueue {
  private readonly queues: Map<LaneUrgency, Queue>;

  constructor(
    private readonly connection: Redis,
    private readonly prefix: string,
    private readonly asyncAttempts: number,
  ) {
    this.queues = new Map(URGENCIES.map((urgency) => [urgency, createQueue(fetchQueueNameOf(urgency), connection, prefix)]));
  }

  queue(urgency: LaneUrgency): Queue {
    return this.queues.get(urgency)!;
  }

  /** Adds the job unless an identical one is queued or running (same id). Returns the job id. */
  async ensureQueued(job: FetchJob): Promise<string> {
    const payload = fetchJobSchema.parse(job);
    const jobId = fetchJobIdOf(payload);
    await orUnavailable(() => this.queue(payload.urgency).add(FETCH_JOB_NAME, payload, this.optionsFor(payload, jobId)));
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
    const byUrgency = new Map<LaneUrgency, Array<{ name: string; data: FetchJob; opts: JobsOptions }>>(URGENCIES.map((urgency) => [urgency, []]));
    jobs.forEach((job, i) => {
      const payload = fetchJobSchema.parse(job);
      const opts = this.optionsFor(payload, fetchJobIdOf(payload));
      if (first !== null && payload.urgency === 'async') opts.priority = Math.min(MAX_PRIORITY, first + i);
      byUrgency.get(payload.urgency)!.push({ name: FETCH_JOB_NAME, data: payload, opts });
    });
    for (const [urgency, entries] of byUrgency) if (entries.length > 0) await orUnavailable(() => this.queue(urgency).addBulk(entries));
  }

  /** Which of these prefetch job ids are queued or running right now. */
  async existingPrefetchIds(jobIds: string[]): Promise<Set<string>> {
    const pipeline = this.connection.pipeline();
    for (const jobId of jobIds) pipeline.exists(this.queue('async').toKey(jobId));
    const replies = (await orUnavailable(() => pipeline.exec())) ?? [];
    return new Set(jobIds.filter((_, i) => replies[i]?.[1] === 1));
  }

  /** Prefetch jobs queued and not yet running (waiting, prioritized, delayed for a retry). */
  async readyPrefetchCount(): Promise<number> {
    const counts = await this.queue('async').getJobCounts('waiting', 'prioritized', 'delayed', 'paused');
    return Object.values(counts).reduce((sum, n) => sum + n, 0);
  }

  async jobState(job: FetchJob): Promise<string | null> {
    const state = await orUnavailable(() => this.queue(job.urgency).getJobState(fetchJobIdOf(job)));
    return state === 'unknown' ? null : state;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
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
