import { setTimeout as sleep } from 'node:timers/promises';
import { ImageCloudError } from '@image-cloud/errors';
import type { OriginalMeta } from '@image-cloud/storage';
import { releaseSlot } from './download-original';
import type { DownloadLease, FetchOutcome, FetchState } from './fetch-ports';
import { firstSlotWaiter } from './take-origin-slot';
import { addPlaceholders } from './store-original';

const LEASE_POLL_MS = 100;

/**
 * One download per original cluster-wide: the first job takes the original's lease; a job that
 * finds it taken (a sync request while a prefetch downloads, say) waits for that download, which
 * holds only an I/O slot. Ends the job when the other download stored the original (adding the
 * placeholders when the job asks for them and they are missing). A job that goes to the origin
 * next (no peer clouds to ask first) asks for its domain's download slot in the same round trip
 * as the lease, once the original is known not to be stored.
 */
export async function takeDownloadLease(state: FetchState): Promise<FetchOutcome | undefined> {
  const { job, deps } = state;
  const giveUpAt = Date.now() + deps.downloadWaitMs;
  const withSlot = deps.originSlots && deps.leases.tryAcquireWithSlot && !(job.useAlternativeClouds && deps.peers.length > 0);
  for (;;) {
    const storedBefore = withSlot ? await deps.storage.getOriginalMeta(job.originalKey) : null;
    if (storedBefore) return stored(state, storedBefore);
    const lease = withSlot ? await takeLeaseWithSlot(state) : await deps.leases.tryAcquire(job.originalKey);
    // Checked again with the lease held: a download that stored the original just before is not repeated.
    const meta = await deps.storage.getOriginalMeta(job.originalKey);
    if (meta) {
      if (state.slot) await releaseSlot(state.slot, false);
      state.slot = undefined;
      state.slotRefusal = undefined;
      await lease?.release();
      return stored(state, meta);
    }
    if (lease) {
      state.lease = lease;
      return undefined;
    }
    if (Date.now() > giveUpAt) throw new ImageCloudError('origin_timeout', 'Another worker has been downloading this image for too long.');
    while ((await deps.leases.isHeld(job.originalKey)) && Date.now() < giveUpAt) {
      if (await deps.storage.getOriginalMeta(job.originalKey)) break;
      await sleep(LEASE_POLL_MS);
    }
  }
}

function stored(state: FetchState, meta: OriginalMeta): Promise<FetchOutcome> | FetchOutcome {
  return state.job.placeholders && meta.placeholders === undefined ? addPlaceholders(state, meta) : { kind: 'done', meta };
}

/** The lease and the first answer for a slot in one call: a slot taken goes into the state, a refusal to the slot step. */
async function takeLeaseWithSlot(state: FetchState): Promise<DownloadLease | null> {
  const { job, deps } = state;
  const { perSecond } = deps.originSlots!.poolOf(job.url);
  const taken = await deps.leases.tryAcquireWithSlot!(job.originalKey, job.url, firstSlotWaiter(state, perSecond));
  if (!taken) return null;
  if (taken.attempt.slot) state.slot = taken.attempt.slot;
  else state.slotRefusal = taken.attempt;
  return taken.lease;
}
