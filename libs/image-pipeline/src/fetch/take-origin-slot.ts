import { setTimeout as sleep } from 'node:timers/promises';
import { ImageCloudError } from '@image-cloud/errors';
import type { FetchOutcome, FetchState, OriginSlotAttempt } from './fetch-ports';

/** How long a waiting job sleeps when no release wakes it (releases in other processes may be missed). */
const FALLBACK_POLL_MS = 250;
/** A prefetch waits in its I/O slot at most this long before it is parked. */
const ASYNC_WAIT_IN_PLACE_MS = 2_000;

/** Prefetches of each domain waiting in place in this process: at most the domain's cap, the rest park. */
export type InPlaceWaiters = Map<string, number>;

/**
 * A download slot of the URL's domain. Downloads hold I/O slots, not cores, so a sync job waits
 * its turn here, within `originSlotWaitMs`, woken as soon as a slot of its domain is freed
 * anywhere. A prefetch waits in place too, but only up to the domain's cap per process and for a
 * short while, so one slow domain never fills the fetch slots; the others park as delayed jobs
 * (no slot held) and a freed slot wakes them in order.
 */
export async function takeOriginSlot(state: FetchState, waitingInPlace: InPlaceWaiters): Promise<FetchOutcome | undefined> {
  const { job, deps, options } = state;
  if (!deps.originSlots || state.downloaded) return undefined;
  const waiter = { urgency: job.urgency, id: options.waiterId };
  const startedAt = Date.now();
  const giveUpAt = startedAt + deps.originSlotWaitMs;
  let waitingIn: string | null = null;
  try {
    for (;;) {
      const attempt = await deps.originSlots.tryAcquire(job.url, waiter);
      if (attempt.slot) {
        state.slot = attempt.slot;
        return undefined;
      }
      if (job.urgency === 'async') {
        const mayWaitHere =
          attempt.reason === 'saturated' &&
          Date.now() - startedAt < ASYNC_WAIT_IN_PLACE_MS &&
          (waitingIn !== null || (waitingInPlace.get(attempt.pool) ?? 0) < attempt.cap);
        if (!mayWaitHere) return { kind: 'park', delayMs: attempt.waitMs, reason: attempt.reason };
        if (waitingIn === null) {
          waitingIn = attempt.pool;
          waitingInPlace.set(waitingIn, (waitingInPlace.get(waitingIn) ?? 0) + 1);
        }
      } else {
        checkSyncWait(attempt, giveUpAt, deps.originSlotWaitMs);
      }
      if (options.signal?.aborted) throw new ImageCloudError('processing_timeout', 'The job was stopped while it waited for a download slot.');
      const waitMs = attempt.reason === 'saturated' ? FALLBACK_POLL_MS : Math.min(attempt.waitMs, Math.max(1, giveUpAt - Date.now()));
      if (deps.slotReleases && attempt.reason === 'saturated') await deps.slotReleases.next(attempt.pool, waitMs, options.signal);
      else await sleep(waitMs);
    }
  } finally {
    if (waitingIn !== null) {
      const left = (waitingInPlace.get(waitingIn) ?? 1) - 1;
      if (left > 0) waitingInPlace.set(waitingIn, left);
      else waitingInPlace.delete(waitingIn);
    }
  }
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
