/**
 * The four BullMQ queues ("lanes"). Sync lanes hold work somebody is waiting for; async lanes hold
 * prefetches. Normal lanes get a short processing budget; big lanes take pathological images.
 */
export const LANES = ['sync-normal', 'sync-big', 'async-normal', 'async-big'] as const;
export type Lane = (typeof LANES)[number];

export type LaneSize = 'normal' | 'big';
export type LaneUrgency = 'sync' | 'async';

export function laneOf(urgency: LaneUrgency, size: LaneSize): Lane {
  return `${urgency}-${size}`;
}

export function laneSize(lane: Lane): LaneSize {
  return lane.endsWith('-big') ? 'big' : 'normal';
}

/** The job name inside every lane; one kind of job renders (or just fetches) one result. */
export const RENDER_JOB_NAME = 'render';
