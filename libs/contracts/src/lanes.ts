/**
 * The four lanes. Sync lanes hold work somebody is waiting for; async lanes hold prefetches.
 * Normal lanes get a short processing budget; big lanes take pathological images.
 *
 * A lane is a (queue, priority) pair: one BullMQ queue per size, sync jobs without a priority and
 * async jobs with one. BullMQ always takes un-prioritized jobs first, so a worker takes every
 * waiting sync job before any async job, atomically, in Redis.
 */
export const LANES = ['sync-normal', 'sync-big', 'async-normal', 'async-big'] as const;
export type Lane = (typeof LANES)[number];

export type LaneSize = 'normal' | 'big';
export type LaneUrgency = 'sync' | 'async';

export const LANE_SIZES: readonly LaneSize[] = ['normal', 'big'];

export function laneOf(urgency: LaneUrgency, size: LaneSize): Lane {
  return `${urgency}-${size}`;
}

export function laneSize(lane: Lane): LaneSize {
  return lane.endsWith('-big') ? 'big' : 'normal';
}

export function laneUrgency(lane: Lane): LaneUrgency {
  return lane.startsWith('sync-') ? 'sync' : 'async';
}

/** The BullMQ queue of a lane size. */
export function queueNameOf(size: LaneSize): string {
  return `render-${size}`;
}

/** Priority of async jobs; sync jobs have none (0), which BullMQ serves first. */
export const ASYNC_PRIORITY = 1;

/** The job name inside every queue; one kind of job renders (or just fetches) one result. */
export const RENDER_JOB_NAME = 'render';

/**
 * Thrown by a normal-lane job that belongs in the big lane: its header shows a giant (pixels ×
 * frames or bytes over the thresholds), or it ran over the normal budget. The worker moves the
 * job, under the same id, so the clients waiting for it are served from the big lane.
 */
export class RerouteToBigLane extends Error {
  constructor(readonly reason: 'header' | 'budget') {
    super(`rerouted to the big lane (${reason})`);
    this.name = 'RerouteToBigLane';
  }
}

/**
 * Thrown by a prefetch job whose origin domain has no free download slot, has started as many
 * downloads as its rate allows, or is backed off after answering 429/503. The worker parks the job as delayed for `delayMs`, without using an
 * attempt, so it holds no worker slot while it waits; a finished download of that domain wakes it
 * earlier.
 */
export class WaitForOriginSlot extends Error {
  constructor(
    readonly delayMs: number,
    readonly reason: 'saturated' | 'rate' | 'backoff',
  ) {
    super(`waiting ${delayMs} ms for a download slot (${reason})`);
    this.name = 'WaitForOriginSlot';
  }
}
