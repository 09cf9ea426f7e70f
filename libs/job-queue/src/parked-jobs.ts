import { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { FETCH_JOB_NAME, fetchQueueNameOf } from '@image-cloud/contracts';
import { createQueue } from './render-queues';

const FETCH_WAITER_PREFIX = 'fetch:';

/** Id a fetch job waits for a download slot under, so a released slot can wake it: `fetch:<job id>`. */
export function originWaiterId(jobId: string): string {
  return `${FETCH_WAITER_PREFIX}${jobId}`;
}

/** Promotes prefetches parked as delayed jobs (OriginSlots' `wakeParked`). */
export interface ParkedJobPromoter {
  /**
   * Moves the job an originWaiterId names back to its queue: `woken` when it did, `active` when it
   * is running (caught between being refused a slot and being parked, or waiting in line), `gone`
   * when it is gone or already back in its queue.
   */
  promote(waiterId: string): Promise<'woken' | 'gone' | 'active'>;
  close(): Promise<void>;
}

export function parkedJobPromoter(connection: Redis, prefix: string): ParkedJobPromoter {
  // Only prefetches park.
  const queue = createQueue(fetchQueueNameOf('async'), connection, prefix);
  return {
    async promote(waiterId) {
      if (!waiterId.startsWith(FETCH_WAITER_PREFIX)) return 'gone';
      // Promoting needs only the id; the job's data is never read.
      const jobId = waiterId.slice(FETCH_WAITER_PREFIX.length);
      try {
        await new Job(queue, FETCH_JOB_NAME, {}, {}, jobId).promote();
        return 'woken';
      } catch {
        return (await queue.getJobState(jobId)) === 'active' ? 'active' : 'gone';
      }
    },
    close: () => queue.close(),
  };
}
