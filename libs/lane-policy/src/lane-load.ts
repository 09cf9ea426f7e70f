import type { Redis } from 'ioredis';
import type { LaneSize } from '@image-cloud/contracts';
import { defineRedisScript } from '@image-cloud/redis-scripts';
import heartbeatLua from './commands/lane-heartbeat-1.lua';
import liveWorkersLua from './commands/lane-live-workers-1.lua';

/** Weight of the newest render in the moving average of render times. */
const EWMA_WEIGHT = 0.2;
/** Assumed render time before anything was measured, and what old measurements fade back to. */
const DEFAULT_RENDER_MS = 500;
/** A measured average halves its distance to the default every this many ms without a new render. */
const AVERAGE_HALF_LIFE_MS = 60_000;

export interface LaneCapacity {
  /** Jobs the live workers of the lane size can run at once. */
  slots: number;
  /** Moving average of the render times of jobs that finished, faded by age, in ms. */
  averageJobMs: number;
}

const laneHeartbeat = defineRedisScript<number>('laneHeartbeat', 1, heartbeatLua);
const laneLiveWorkers = defineRedisScript<string[]>('laneLiveWorkers', 1, liveWorkersLua);

/**
 * What the render workers of each lane size can do, kept in Redis: live workers announce their
 * slots with an expiring heartbeat, and every render that finished updates a moving average of
 * render times. Failures and reroutes are not renders that finished, so they never enter it.
 */
export class LaneLoad {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private workersKey(size: LaneSize): string {
    return `${this.prefix}:lane-workers:${size}`;
  }

  private statsKey(size: LaneSize): string {
    return `${this.prefix}:lane-stats:${size}`;
  }

  /** Worker side: "I am alive with `slots` slots until `ttlMs` from now", on Redis's clock. */
  async heartbeat(size: LaneSize, workerId: string, slots: number, ttlMs: number): Promise<void> {
    await laneHeartbeat(this.redis, [this.workersKey(size)], [`${workerId}|${slots}`, ttlMs]);
  }

  async leave(size: LaneSize, workerId: string, slots: number): Promise<void> {
    await this.redis.zrem(this.workersKey(size), `${workerId}|${slots}`);
  }

  /** Worker side: one more render that finished in `renderMs`. Concurrent updates may lose one sample. */
  async recordRender(size: LaneSize, renderMs: number): Promise<void> {
    const key = this.statsKey(size);
    const now = Date.now();
    const previous = fadedAverage(await this.redis.hmget(key, 'averageJobMs', 'at'), now);
    const average = previous === null ? renderMs : previous + EWMA_WEIGHT * (renderMs - previous);
    await this.redis.hset(key, 'averageJobMs', average.toFixed(1), 'at', String(now));
  }

  /** Server side: live slots and the (faded) average render time of a lane size. */
  async capacity(size: LaneSize): Promise<LaneCapacity> {
    const [members, stats] = await Promise.all([
      laneLiveWorkers(this.redis, [this.workersKey(size)], []),
      this.redis.hmget(this.statsKey(size), 'averageJobMs', 'at'),
    ]);
    const slots = members.reduce((sum, member) => sum + Number(member.split('|')[1] ?? 0), 0);
    return { slots, averageJobMs: fadedAverage(stats, Date.now()) ?? DEFAULT_RENDER_MS };
  }
}

/** The stored average faded towards the default by its age, or null when none is stored. */
function fadedAverage([rawAverage, rawAt]: (string | null)[], now: number): number | null {
  const average = Number(rawAverage);
  const at = Number(rawAt);
  if (!rawAverage || !Number.isFinite(average) || average <= 0) return null;
  const fade = Number.isFinite(at) ? 0.5 ** (Math.max(0, now - at) / AVERAGE_HALF_LIFE_MS) : 0;
  return DEFAULT_RENDER_MS + (average - DEFAULT_RENDER_MS) * fade;
}

/**
 * Expected ms until a new job with `jobsAhead` jobs before it (running, or waiting in its lane
 * ahead of it) finishes. Zero while a slot is free: a request is never refused when nothing is
 * queued ahead of it. Infinite when no worker is alive.
 */
export function estimateWaitMs(jobsAhead: number, capacity: LaneCapacity): number {
  if (capacity.slots <= 0) return Infinity;
  if (jobsAhead < capacity.slots) return 0;
  return (Math.floor((jobsAhead - capacity.slots) / capacity.slots) + 2) * capacity.averageJobMs;
}
