import { setTimeout as sleep } from 'node:timers/promises';
import { ImageCloudError } from '@image-cloud/errors';
import type { FetchOutcome, FetchState, OriginSlotAttempt, SlotWaiter } from './fetch-ports';

/** How long a waiting download sleeps when no hand-over or release wakes it (a notice may be missed). */
const FALLBACK_POLL_MS = 250;
/** A prefetch waits in line at most this long before it is parked. */
const ASYNC_WAIT_IN_PLACE_MS = 2_000;

/**
 * A download slot of the URL's domain. Downloads hold I/O slots, not cores, so a sync job waits
 * its turn here, within `originSlotWaitMs`, in this process's line for the domain: a download
 * that ends hands its slot to the next in line, and a slot released anywhere wakes the line. A
 * prefetch waits in line too, but only as many per domain as `maxInLine` and for a short while,
 * so one slow domain never fills the fetch slots; the others park as delayed jobs (no slot held)
 * and a released slot wakes them in order.
 */
export async function takeOriginSlot(state: FetchState): Promise<FetchOutcome | undefined> {
  const { job, deps, options, line } = state;
  const slots = deps.originSlots;
  if (!slots || state.downloaded || state.slot) return undefined;
  const { pool, cap, perSecond } = slots.poolOf(job.url);
  const startedAt = Date.now();
  const giveUpAt = startedAt + deps.originSlotWaitMs;
  const ticket = line.ticket();
  const lineLimit = Math.max(cap, deps.maxInLine ?? 0);
  let inLine = false;
  for (;;) {
    const mayWaitHere = job.urgency === 'async' && perSecond === undefined && Date.now() - startedAt < ASYNC_WAIT_IN_PLACE_MS;
    // A prefetch that may wait in this process's line does not join the cluster's line of parked
    // jobs, so a released slot never tries to wake a job that is running.
    // The first answer may have come with the download lease (asked as firstSlotWaiter says).
    let attempt: OriginSlotAttempt = state.slotRefusal ?? (await slots.tryAcquire(job.url, { urgency: job.urgency, id: options.waiterId, parks: !mayWaitHere }));
    state.slotRefusal = undefined;
    // Whether the line here has room is decided once the refusal is known, in the same tick as
    // joining it: prefetches asking at once would otherwise all see a short line. A full line
    // sends the prefetch to the cluster's line of parked jobs (asking once more on the way).
    if (!attempt.slot && mayWaitHere && attempt.reason === 'saturated' && !inLine && line.count(pool, 'async') >= lineLimit) {
      attempt = await slots.tryAcquire(job.url, { urgency: job.urgency, id: options.waiterId, parks: true });
      if (!attempt.slot) return { kind: 'park', delayMs: attempt.waitMs, reason: attempt.reason };
    }
    if (attempt.slot) {
      state.slot = attempt.slot;
      return undefined;
    }
    if (job.urgency === 'async') {
      if (!mayWaitHere || attempt.reason !== 'saturated') return { kind: 'park', delayMs: attempt.waitMs, reason: attempt.reason };
      inLine = true;
    } else {
      checkSyncWait(attempt, giveUpAt, deps.originSlotWaitMs);
    }
    if (options.signal?.aborted) throw new ImageCloudError('processing_timeout', 'The job was stopped while it waited for a download slot.');
    if (attempt.reason !== 'saturated') {
      await sleep(Math.min(attempt.waitMs, Math.max(1, giveUpAt - Date.now())));
      continue;
    }
    const handed = await line.wait(pool, job.urgency, ticket, FALLBACK_POLL_MS, deps.slotReleases, options.signal);
    if (handed) {
      state.slot = handed;
      return undefined;
    }
  }
}

/** How the first slot request of a job asks (the loop above, on its first turn), for asking it together with the lease. */
export function firstSlotWaiter(state: FetchState, perSecond: number | undefined): SlotWaiter {
  const mayWaitHere = state.job.urgency === 'async' && perSecond === undefined;
  return { urgency: state.job.urgency, id: state.options.waiterId, parks: !mayWaitHere };
}

/** A sync job gives up when its wait runs out, or at once when the domain's back-off outlasts it. */
function checkSyncWait(attempt: Exclude<OriginSlotAttempt, { slot: unknown }>, giveUpAt: number, slotWaitMs: number): void {
  const left = giveUpAt - Date.now();
  if (attempt.reason === 'backoff' && attempt.waitMs > left) {
    const seconds = Math.ceil(attempt.waitMs / 1000);
    throw new ImageCloudError('origin_error', `The origin ${attempt.pool} asked us to slow down (429/503); downloads from it resume in ${seconds} s.`, {
      retryAfterSeconds: seconds,
    });
  }
  if (left <= 0) {
    const rate = attempt.perSecond === undefined ? '' : `, ${attempt.perSecond} per second`;
    throw new ImageCloudError('origin_timeout', `Downloads from ${attempt.pool} are limited (${attempt.cap} at once${rate}); none could start within ${slotWaitMs} ms.`);
  }
}
