import type { Redis } from 'ioredis';
import type { LaneSize } from '@image-cloud/contracts';
import { redisKeys } from './redis-keys';

/** Weight of the newest job in the moving average of job durations. */
const EWMA_WEIGHT = 0.2;
/** Assumed job duration before anything was measured. */
const DEFAULT_JOB_MS = 500;

export interface LaneCapacity {
  /** Jobs the live workers of the lane size can run at once. */
  slots: number;
  /** Moving average of job durations, in ms. */
  averageJobMs: number;
}

/**
 * What the workers of each lane size can do, kept in Redis: live workers announce their slots with
 * an expiring heartbeat, and every finished job updates a moving average of job durations.
 * The server reads it to tell whether a new request can finish before its deadline.
 */
export class LaneLoad {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** Worker side: "I am alive with `slots` slots until `ttlMs` from now". */
  async heartbeat(size: LaneSize, workerId: string, slots: number, ttlMs: number): Promise<void> {
    const key = redisKeys.laneWorkers(this.prefix, size);
    const now = Date.now();
    await this.redis.multi().zadd(key, now + ttlMs, `${workerId}|${slots}`).zremrangebyscore(key, '-inf', now).exec();
  }

  async leave(size: LaneSize, workerId: string, slots: number): Promise<void> {
    await this.redis.zrem(redisKeys.laneWorkers(this.prefix, size), `${workerId}|${slots}`);
  }

  /** Worker side: one more finished job of `durationMs`. Concurrent updates may lose one sample; an average does not mind. */
  async recordJob(size: LaneSize, durationMs: number): Promise<void> {
    const key = redisKeys.laneStats(this.prefix, size);
    const previous = Number(await this.redis.hget(key, 'averageJobMs'));
    const average = Number.isFinite(previous) && previous > 0 ? previous + EWMA_WEIGHT * (durationMs - previous) : durationMs;
    await this.redis.hset(key, 'averageJobMs', average.toFixed(1));
  }

  /** Server side: live slots and the average job duration of a lane size. */
  async capacity(size: LaneSize): Promise<LaneCapacity> {
    const [members, average] = await Promise.all([
      this.redis.zrangebyscore(redisKeys.laneWorkers(this.prefix, size), Date.now(), '+inf'),
      this.redis.hget(redisKeys.laneStats(this.prefix, size), 'averageJobMs'),
    ]);
    const slots = members.reduce((sum, member) => sum + Number(member.split('|')[1] ?? 0), 0);
    const averageJobMs = Number(average);
    return { slots, averageJobMs: Number.isFinite(averageJobMs) && averageJobMs > 0 ? averageJobMs : DEFAULT_JOB_MS };
  }
}

/**
 * Expected ms until a new job that has `jobsAhead` jobs before it finishes: the jobs ahead drain
 * `slots` at a time, then it runs itself. Infinite when no worker is alive.
 */
export function estimateWaitMs(jobsAhead: number, capacity: LaneCapacity): number {
  if (capacity.slots <= 0) return Infinity;
  return (Math.floor(jobsAhead / capacity.slots) + 1) * capacity.averageJobMs;
}
