/**
 * The four render lanes. Sync lanes hold work somebody is waiting for; async lanes hold
 * prefetches. Normal lanes get a short processing budget; big lanes take pathological images.
 *
 * A lane is a (queue, priority) pair: one BullMQ queue per size, sync jobs without a priority and
 * async jobs with one. BullMQ always takes un-prioritized jobs first, so a worker takes every
 * waiting sync job before any async job, atomically, in Redis. Which lane a job starts in, its
 * budget and when it moves are decided by the lane policy (libs/lane-policy).
 */
export const LANES = ['sync-normal', 'sync-big', 'async-normal', 'async-big'] as const;
export type Lane = (typeof LANES)[number];

export type LaneSize = 'normal' | 'big';
export type LaneUrgency = 'sync' | 'async';

export const LANE_SIZES: readonly LaneSize[] = ['normal', 'big'];
export const URGENCIES: readonly LaneUrgency[] = ['sync', 'async'];

export function laneOf(urgency: LaneUrgency, size: LaneSize): Lane {
  return `${urgency}-${size}`;
}

export function laneSize(lane: Lane): LaneSize {
  return lane.endsWith('-big') ? 'big' : 'normal';
}

export function laneUrgency(lane: Lane): LaneUrgency {
  return lane.startsWith('sync-') ? 'sync' : 'async';
}

/** The BullMQ queue of a render lane size. */
export function queueNameOf(size: LaneSize): string {
  return `render-${size}`;
}

/**
 * The BullMQ queues of the fetch stage: downloads are I/O, run many at once apart from the render
 * cores. Downloads somebody waits for and prefetches have queues of their own, so prefetches can
 * be held back whole while sync work is pending (a prefetch still costs CPU: parse, probe, store).
 */
export function fetchQueueNameOf(urgency: LaneUrgency): string {
  return urgency === 'sync' ? 'fetch' : 'prefetch';
}

/** Priority of async jobs; sync jobs have none (0), which BullMQ serves first. */
export const ASYNC_PRIORITY = 1;

/** The job name inside every render queue; one job renders one variant. */
export const RENDER_JOB_NAME = 'render';
/** The job name inside the fetch queue; one job downloads and stores one original. */
export const FETCH_JOB_NAME = 'fetch';

/** Why a render job left the normal lane: its header, its predicted cost, or its budget ran out. */
export type RerouteReason = 'header' | 'predicted' | 'budget';
