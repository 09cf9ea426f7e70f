import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  ASYNC_PRIORITY,
  LANE_SIZES,
  type Lane,
  type LaneSize,
  RENDER_JOB_NAME,
  type RenderJob,
  laneSize,
  laneUrgency,
  queueNameOf,
  renderJobIdOf,
  renderJobSchema,
} from '@image-cloud/contracts';
import { redisKeys } from './redis-keys';
import { orUnavailable } from './redis-unavailable';

/** BullMQ's lowest priority (2^21 − 1); later jobs of a very busy tenant share it. */
const MAX_PRIORITY = 2 ** 21 - 1;
const FAIR_SHARE_IDLE_SECONDS = 3600;

export interface RenderQueuesOptions {
  connection: Redis;
  prefix: string;
  /** Attempts for prefetch jobs with retryable failures; a waiting client gets the first failure at once. */
  asyncAttempts: number;
}

/**
 * Job options per lane. Sync jobs have no priority, so BullMQ serves them before every async job;
 * async jobs are retried with backoff. Results live in storage, so finished jobs are removed at once.
 */
export function jobOptionsFor(lane: Lane, asyncAttempts: number): JobsOptions {
  const isSync = laneUrgency(lane) === 'sync';
  return {
    ...(isSync ? {} : { priority: ASYNC_PRIORITY }),
    attempts: isSync ? 1 : asyncAttempts,
    backoff: { type: 'exponential', delay: 1_000 },
    removeOnComplete: true,
    removeOnFail: true,
  };
}

export function createRenderQueue(size: LaneSize, connection: Redis, prefix: string): Queue {
  const queue = new Queue(queueNameOf(size), { connection, prefix, streams: { events: { maxLen: 10_000 } } });
  queue.on('error', () => undefined);
  return queue;
}

/** The producer side of the four lanes (two queues, two priorities). */
export class RenderQueues {
  private readonly queues: Map<LaneSize, Queue>;

  constructor(private readonly options: RenderQueuesOptions) {
    this.queues = new Map(LANE_SIZES.map((size) => [size, createRenderQueue(size, options.connection, options.prefix)]));
  }

  queue(size: LaneSize): Queue {
    return this.queues.get(size)!;
  }

  /**
   * Adds a render job unless an identical one is already queued or running (same deterministic id),
   * in which case the caller simply waits for that one. Returns the job id.
   */
  async enqueue(job: RenderJob): Promise<string> {
    const payload = renderJobSchema.parse(job);
    const jobId = renderJobIdOf(payload);
    await orUnavailable(() =>
      this.queue(laneSize(payload.lane)).add(RENDER_JOB_NAME, payload, { ...jobOptionsFor(payload.lane, this.options.asyncAttempts), jobId }),
    );
    return jobId;
  }

  /**
   * Adds many async jobs in one round trip per queue (prefetch batches). Ids dedupe as in enqueue.
   * With `fairShareKey` (the tenant), the jobs get consecutive priorities from that tenant's own
   * counter, so tenants' prefetches interleave round-robin: a tenant that queued 100 000 URLs does
   * not hold back another tenant's 50 submitted after them.
   */
  async enqueueBulk(jobs: RenderJob[], options: { fairShareKey?: string } = {}): Promise<void> {
    const first = options.fairShareKey ? await this.reservePriorities(options.fairShareKey, jobs.length) : null;
    const bySize = new Map<LaneSize, Array<{ name: string; data: RenderJob; opts: JobsOptions }>>(LANE_SIZES.map((size) => [size, []]));
    jobs.forEach((job, i) => {
      const payload = renderJobSchema.parse(job);
      const opts: JobsOptions = { ...jobOptionsFor(payload.lane, this.options.asyncAttempts), jobId: renderJobIdOf(payload) };
      if (first !== null && laneUrgency(payload.lane) === 'async') opts.priority = Math.min(MAX_PRIORITY, first + i);
      bySize.get(laneSize(payload.lane))!.push({ name: RENDER_JOB_NAME, data: payload, opts });
    });
    for (const [size, entries] of bySize) if (entries.length > 0) await orUnavailable(() => this.queue(size).addBulk(entries));
  }

  /** The first of `count` consecutive priorities of a tenant; its counter restarts after an idle hour. */
  private async reservePriorities(fairShareKey: string, count: number): Promise<number> {
    const key = redisKeys.fairShare(this.options.prefix, fairShareKey);
    const replies = await orUnavailable(() => this.options.connection.multi().incrby(key, count).expire(key, FAIR_SHARE_IDLE_SECONDS).exec());
    const last = Number(replies?.[0]?.[1] ?? count);
    return Math.max(ASYNC_PRIORITY, last - count + 1);
  }

  /** Which of these job ids are queued or running in either queue right now. */
  async existingJobIds(jobIds: string[]): Promise<Set<string>> {
    const pipeline = this.options.connection.pipeline();
    for (const jobId of jobIds) for (const size of LANE_SIZES) pipeline.exists(this.queue(size).toKey(jobId));
    const replies = (await orUnavailable(() => pipeline.exec())) ?? [];
    const existing = new Set<string>();
    jobIds.forEach((jobId, i) => {
      if (LANE_SIZES.some((_, j) => replies[i * LANE_SIZES.length + j]?.[1] === 1)) existing.add(jobId);
    });
    return existing;
  }

  /** Jobs of a lane not yet started. */
  async waitingCount(lane: Lane): Promise<number> {
    const queue = this.queue(laneSize(lane));
    return orUnavailable(() => (laneUrgency(lane) === 'sync' ? queue.getWaitingCount() : queue.getPrioritizedCount()));
  }

  /** State of a job in either queue (it may have moved to the big lane), or null when it is gone. */
  async jobState(jobId: string): Promise<string | null> {
    for (const queue of this.queues.values()) {
      const state = await orUnavailable(() => queue.getJobState(jobId));
      if (state !== 'unknown') return state;
    }
    return null;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
  }
}
