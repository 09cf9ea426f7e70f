import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { WaitForOriginSlot, laneUrgency } from '@image-cloud/contracts';
import { ImageCloudError } from '@image-cloud/errors';
import type { OriginSlot, PipelineState } from '../pipeline-context';

/** How often a sync job asks again for a slot of a saturated domain. */
const SYNC_POLL_MS = 50;

/**
 * A download slot of the URL's domain. Somebody is waiting for a sync job, so it waits its turn
 * here, within `originSlotWaitMs`; a prefetch never waits in a worker slot: it throws
 * WaitForOriginSlot and the worker parks it. Null when downloads are not capped.
 */
export async function takeOriginSlot(state: PipelineState): Promise<OriginSlot | null> {
  const { job, deps, options } = state;
  if (!deps.originSlots) return null;
  const urgency = laneUrgency(options.lane);
  const waiter = { urgency, id: options.waiterId ?? randomUUID() };
  const giveUpAt = Date.now() + (deps.originSlotWaitMs ?? 30_000);
  for (;;) {
    const attempt = await deps.originSlots.tryAcquire(job.url, waiter);
    if (attempt.slot) return attempt.slot;
    if (urgency === 'async') throw new WaitForOriginSlot(attempt.waitMs, attempt.reason);
    const left = giveUpAt - Date.now();
    if (attempt.reason === 'backoff' && attempt.waitMs > left) {
      const seconds = Math.ceil(attempt.waitMs / 1000);
      throw new ImageCloudError('origin_error', `The origin ${attempt.pool} asked us to slow down (429/503); downloads from it resume in ${seconds} s.`, {
        retryAfterSeconds: seconds,
      });
    }
    if (left <= 0) {
      const rate = attempt.perSecond === undefined ? '' : `, ${attempt.perSecond} per second`;
      throw new ImageCloudError(
        'origin_timeout',
        `Downloads from ${attempt.pool} are limited (${attempt.cap} at once${rate}); none could start within ${deps.originSlotWaitMs ?? 30_000} ms.`,
      );
    }
    if (options.signal?.aborted) throw new ImageCloudError('processing_timeout', 'The job was stopped while it waited for a download slot.');
    await sleep(attempt.reason === 'saturated' ? SYNC_POLL_MS : Math.min(attempt.waitMs, left));
  }
}
