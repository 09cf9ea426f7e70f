import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { LANES, type Lane, RENDER_JOB_NAME, type RenderJob, renderJobIdOf, renderJobSchema } from '@image-cloud/contracts';
import { orUnavailable } from './redis-unavailable';

export interface RenderQueuesOptions {
  connection: Redis;
  prefix: string;
  /** Attempts for prefetch jobs with retryable failures; a waiting client gets the first failure at once. */
  asyncAttempts: number;
}

/** Job options per lane. Results live in storage, so finished jobs are removed at once and a later identical request makes a new job. */
export function defaultJobOptions(lane: Lane, asyncAttempts: number): JobsOptions {
  const isSync = lane.startsWith('sync-');
  return {
    attempts: isSync ? 1 : asyncAttempts,
    backoff: { type: 'exponential', delay: 1_000 },
    removeOnComplete: true,
    removeOnFail: true,
  };
}

/** The producer side of the four lanes. */
export class RenderQueues {
  private readonly queues: Map<Lane, Queue>;

  constructor(options: RenderQueuesOptions) {
    this.queues = new Map(
      LANES.map((lane) => [
        lane,
        new Queue(lane, {
          connection: options.connection,
          prefix: options.prefix,
          defaultJobOptions: defaultJobOptions(lane, options.asyncAttempts),
          streams: { events: { maxLen: 10_000 } },
        }),
      ]),
    );
    for (const queue of this.queues.values()) queue.on('error', () => undefined);
  }

  queue(lane: Lane): Queue {
    return this.queues.get(lane)!;
  }

  /**
   * Adds a render job unless an identical one is already queued or running (same deterministic id),
   * in which case the caller simply waits for that one. Returns the job id.
   */
  async enqueue(job: RenderJob): Promise<string> {
    const payload = renderJobSchema.parse(job);
    const jobId = renderJobIdOf(payload);
    await orUnavailable(() => this.queue(payload.lane).add(RENDER_JOB_NAME, payload, { jobId }));
    return jobId;
  }

  /** Jobs waiting (not yet running) in a lane. */
  async waitingCount(lane: Lane): Promise<number> {
    return orUnavailable(() => this.queue(lane).getWaitingCount());
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
  }
}
