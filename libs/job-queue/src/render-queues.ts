import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  ASYNC_PRIORITY,
  LANE_SIZES,
  type Lane,
  type LaneSize,
  RENDER_JOB_NAME,
  type RenderJob,
  laneOf,
  laneSize,
  laneUrgency,
  queueNameOf,
  renderJobIdOf,
  renderJobSchema,
} from '@image-cloud/contracts';
import { redisKeys } from './redis-keys';
import { orUnavailable } from './redis-unavailable';

/** How long a rerouted job remembers that it left the normal lane: longer than anyone waits for it. */
export const REROUTE_MEMORY_MS = 10 * 60_000;

/**
 * Job options per lane. Sync jobs have no priority, so BullMQ serves them before every async job;
 * async jobs are retried with backoff. Results live in storage, so finished jobs are removed at once.
 */
export function jobOptionsFor(urgency: 'sync' | 'async', asyncAttempts: number): JobsOptions {
  const isSync = urgency === 'sync';
  return {
    ...(isSync ? {} : { priority: ASYNC_PRIORITY }),
    attempts: isSync ? 1 : asyncAttempts,
    backoff: { type: 'exponential', delay: 1_000 },
    removeOnComplete: true,
    removeOnFail: true,
  };
}

export function createQueue(name: string, connection: Redis, prefix: string): Queue {
  const queue = new Queue(name, { connection, prefix, streams: { events: { maxLen: 10_000 } } });
  queue.on('error', () => undefined);
  return queue;
}

/**
 * The render stage's four lanes (two queues, two priorities), and the rule that each job runs
 * once per lane: a job is added only when it exists in neither lane in any state, and a job that
 * left the normal lane is only ever re-added to the big lane.
 */
export class RenderQueues {
  private readonly queues: Map<LaneSize, Queue>;

  constructor(
    private readonly connection: Redis,
    private readonly prefix: string,
    private readonly asyncAttempts: number,
  ) {
    this.queues = new Map(LANE_SIZES.map((size) => [size, createQueue(queueNameOf(size), connection, prefix)]));
  }

  queue(size: LaneSize): Queue {
    return this.queues.get(size)!;
  }

  /**
   * Makes sure the job is queued or running in one lane: adds it unless it exists in either lane
   * (any state), in the big lane when it was rerouted there before. Returns the job id. Idempotent,
   * so a waiting request may call it again and again without rendering anything twice.
   */
  async ensureQueued(job: RenderJob): Promise<string> {
    const payload = renderJobSchema.parse(job);
    const jobId = renderJobIdOf(payload);
    const replies = await orUnavailable(() =>
      this.connection
        .multi()
        .exists(this.queue('normal').toKey(jobId))
        .exists(this.queue('big').toKey(jobId))
        .exists(redisKeys.rerouted(this.prefix, jobId))
        .exec(),
    );
    const [inNormal, inBig, rerouted] = (replies ?? []).map(([, value]) => value === 1);
    if (inNormal || inBig) return jobId;
    const lane = rerouted ? laneOf(laneUrgency(payload.lane), 'big') : payload.lane;
    await orUnavailable(() => this.add({ ...payload, lane }, jobId));
    return jobId;
  }

  /**
   * Worker side: moves a normal-lane job to the big lane under the same id. The mark goes first,
   * so that from now on nobody re-adds it to the normal lane.
   */
  async reroute(job: RenderJob): Promise<void> {
    const jobId = renderJobIdOf(job);
    await this.connection.set(redisKeys.rerouted(this.prefix, jobId), '1', 'PX', REROUTE_MEMORY_MS);
    await this.add({ ...job, lane: laneOf(laneUrgency(job.lane), 'big') }, jobId);
  }

  /** Jobs of a lane not yet started. */
  async waitingCount(lane: Lane): Promise<number> {
    const queue = this.queue(laneSize(lane));
    return orUnavailable(() => (laneUrgency(lane) === 'sync' ? queue.getWaitingCount() : queue.getPrioritizedCount()));
  }

  async activeCount(size: LaneSize): Promise<number> {
    return orUnavailable(() => this.queue(size).getActiveCount());
  }

  /** State of a job in either lane (it may have moved to the big lane), or null when it is gone. */
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

  private async add(job: RenderJob, jobId: string): Promise<void> {
    await this.queue(laneSize(job.lane)).add(RENDER_JOB_NAME, job, { ...jobOptionsFor(laneUrgency(job.lane), this.asyncAttempts), jobId });
  }
}
