import { Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { LANE_SIZES, type LaneSize } from '@image-cloud/contracts';
import { createRenderQueue } from './render-queues';

/** Id a job waits for a download slot under, so a released slot can wake it: `<lane size>:<job id>`. */
export function originWaiterId(size: LaneSize, jobId: string): string {
  return `${size}:${jobId}`;
}

/** Promotes prefetches parked as delayed jobs (OriginSlots' `wakeParked`). */
export interface ParkedJobPromoter {
  /**
   * Moves the job an originWaiterId names back to its queue: `woken` when it did, `active` when it
   * is running (caught between being refused a slot and being parked), `gone` when it is gone or
   * already back in its queue.
   */
  promote(waiterId: string): Promise<'woken' | 'gone' | 'active'>;
  close(): Promise<void>;
}

export function parkedJobPromoter(connection: Redis, prefix: string): ParkedJobPromoter {
  const queues = new Map<LaneSize, Queue>();
  const queue = (size: LaneSize): Queue => {
    let found = queues.get(size);
    if (!found) {
      found = createRenderQueue(size, connection, prefix);
      queues.set(size, found);
    }
    return found;
  };
  return {
    async promote(waiterId) {
      const separator = waiterId.indexOf(':');
      const size = waiterId.slice(0, separator) as LaneSize;
      if (!LANE_SIZES.includes(size)) return 'gone';
      const job = await Job.fromId(queue(size), waiterId.slice(separator + 1));
      if (!job) return 'gone';
      try {
        await job.promote();
        return 'woken';
      } catch {
        return (await job.getState()) === 'active' ? 'active' : 'gone';
      }
    },
    async close() {
      await Promise.all([...queues.values()].map((open) => open.close()));
      queues.clear();
    },
  };
}
