import { setTimeout as sleep } from 'node:timers/promises';
import { ImageCloudError } from '@image-cloud/errors';
import { probeImage } from '@image-cloud/imaging';
import type { OriginalSource, PipelineState } from '../pipeline-context';
import { takeOriginSlot } from './take-origin-slot';

const LEASE_POLL_MS = 100;

type Fetched = Awaited<ReturnType<OriginalSource['fetch']>>;

/** Busy answers that back the whole domain off, not just this download. */
function isBusyAnswer(error: unknown): error is ImageCloudError {
  return error instanceof ImageCloudError && (error.originStatus === 429 || error.originStatus === 503);
}

/** Downloads from the origin inside one of its domain's download slots. */
async function fetchFromOrigin(state: PipelineState): Promise<Fetched> {
  const { job, deps, options } = state;
  const slot = await takeOriginSlot(state);
  let answered = false;
  try {
    const fetched = await deps.origin.fetch(job.url, { signal: options.signal });
    answered = true;
    return fetched;
  } catch (error) {
    if (slot && isBusyAnswer(error)) await slot.backOff(error.retryAfterSeconds).catch(() => undefined);
    throw error;
  } finally {
    // With Redis gone the slot's lease runs out by itself; the download's own outcome matters more.
    await slot?.release(answered).catch(() => undefined);
  }
}

async function download(state: PipelineState): Promise<void> {
  const { job, deps, options } = state;
  const peers: OriginalSource[] = job.useAlternativeClouds ? deps.peers.map((peer) => peer.source) : [];

  let fetched: Fetched | undefined;
  for (const peer of peers) {
    try {
      fetched = await peer.fetch(job.url, { signal: options.signal });
      break;
    } catch {
      // A peer that lacks the image (or is down) just means: try the next one, then the origin.
    }
  }
  fetched ??= await fetchFromOrigin(state);
  const { bytes, contentType, etag, lastModified } = fetched;
  const probe = await probeImage(bytes, deps.limits);
  const meta = await deps.storage.putOriginal(job.originalKey, bytes, {
    url: job.url,
    contentType: probe.contentType,
    ...(contentType ? { originContentType: contentType } : {}),
    width: probe.width,
    height: probe.height,
    format: probe.format,
    frames: probe.frames,
    ...(probe.orientation ? { orientation: probe.orientation } : {}),
    hasAlpha: probe.hasAlpha,
    fetchedAt: new Date().toISOString(),
    ...(etag ? { originEtag: etag } : {}),
    ...(lastModified ? { originLastModified: lastModified } : {}),
  });
  state.original = { meta, bytes, probe };
}

/**
 * Makes sure the original is in storage, downloading it at most once cluster-wide: the first job
 * takes a lease and downloads; jobs for other sizes of the same URL wait for its result.
 */
export async function ensureOriginal(state: PipelineState): Promise<void> {
  const { job, deps } = state;
  const waitUntil = Date.now() + (deps.downloadWaitMs ?? 20_000);
  for (;;) {
    const stored = await deps.storage.readOriginal(job.originalKey);
    if (stored) {
      state.original = stored;
      return;
    }
    if (!job.allowDownload) {
      throw new ImageCloudError('not_cached', 'The image is not cached here and only_send_if_local forbids downloading it.');
    }
    const lease = await deps.leases.tryAcquire(job.originalKey);
    if (lease) {
      try {
        // Another worker may have finished the download between our read and the lease.
        const storedMeanwhile = await deps.storage.readOriginal(job.originalKey);
        if (storedMeanwhile) state.original = storedMeanwhile;
        else await download(state);
        return;
      } finally {
        await lease.release();
      }
    }
    if (Date.now() > waitUntil) {
      throw new ImageCloudError('origin_timeout', 'Another worker has been downloading this image for too long.');
    }
    while ((await deps.leases.isHeld(job.originalKey)) && Date.now() < waitUntil) {
      if (await deps.storage.getOriginalMeta(job.originalKey)) break;
      await sleep(LEASE_POLL_MS);
    }
  }
}
