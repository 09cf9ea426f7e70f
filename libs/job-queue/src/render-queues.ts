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
import { orUnavailable } from './redis-unavailable';

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

  /** Adds many jobs in one round trip per queue (prefetch batches). Ids dedupe as in enqueue. */
  async enqueueBulk(jobs: RenderJob[]): Promise<void> {
    const bySize = new Map<LaneSize, Array<{ name: string; data: RenderJob; opts: JobsOptions }>>();
    for (const job of jobs) {
      const payload = renderJobSchema.parse(job);
      const size = laneSize(payload.lane);
      const entry = { name: RENDER_JOB_NAME, data: payload, opts: { ...jobOptionsFor(payload.lane, this.options.asyncAttempts), jobId: renderJobIdOf(payload) } };
      bySize.set(size, [...(bySize.get(size) ?? []), entry]);
    }
    for (const [size, entries] of bySize) await orUnavailable(() => this.queue(size).addBulk(entries));
  }

  /** Which of these job ids are queued or running in either queue right now. */
  async existingJobIds(jobIds: string[]): Promise<Set<string>> {
    const pipeline = this.options.connection.pipeline();
    for (const jobId of jobIds) for (const size of LANE_SIZES) pipeline.exists(`${this.options.prefix}:${queueNameOf(size)}:${jobId}`);
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
