import { setTimeout as sleep } from 'node:timers/promises';
import { ImageCloudError } from '@image-cloud/errors';
import type { FetchOutcome, FetchState } from './fetch-ports';
import { addPlaceholders } from './store-original';

const LEASE_POLL_MS = 100;

/**
 * One download per original cluster-wide: the first job takes the original's lease; a job that
 * finds it taken (a sync request while a prefetch downloads, say) waits for that download, which
 * holds only an I/O slot. Ends the job when the other download stored the original (adding the
 * placeholders when the job asks for them and they are missing).
 */
export async function takeDownloadLease(state: FetchState): Promise<FetchOutcome | undefined> {
  const { job, deps } = state;
  const giveUpAt = Date.now() + deps.downloadWaitMs;
  for (;;) {
    const lease = await deps.leases.tryAcquire(job.originalKey);
    const meta = await deps.storage.getOriginalMeta(job.originalKey);
    if (meta) {
      await lease?.release();
      return job.placeholders && meta.placeholders === undefined ? addPlaceholders(state, meta) : { kind: 'done', meta };
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
