import { ImageCloudError } from '@image-cloud/errors';
import type { FetchOutcome, FetchState } from './fetch-ports';

/** Busy answers that back the whole domain off, not just this download. */
function isBusyAnswer(error: unknown): error is ImageCloudError {
  return error instanceof ImageCloudError && (error.originStatus === 429 || error.originStatus === 503);
}

/** With use_alternative_clouds, the configured peers are asked first, in order. */
export async function downloadFromPeers(state: FetchState): Promise<FetchOutcome | undefined> {
  const { job, deps, options } = state;
  if (!job.useAlternativeClouds) return undefined;
  for (const peer of deps.peers) {
    try {
      state.downloaded = await peer.source.fetch(job.url, { signal: options.signal });
      return undefined;
    } catch {
      // A peer that lacks the image (or is down) just means: try the next one, then the origin.
    }
  }
  return undefined;
}

/** Downloads from the origin inside the slot taken for it, then hands the slot on or frees it. */
export async function downloadFromOrigin(state: FetchState): Promise<FetchOutcome | undefined> {
  const { job, deps, options, slot } = state;
  if (state.downloaded) return undefined;
  let answered = false;
  try {
    state.downloaded = await deps.origin.fetch(job.url, { signal: options.signal });
    answered = true;
  } catch (error) {
    if (slot && isBusyAnswer(error)) await slot.backOff(error.retryAfterSeconds).catch(() => undefined);
    throw error;
  } finally {
    state.slot = undefined;
    // The next download of the domain waiting in this process takes the slot as it is.
    const handedOn = slot && answered && (await state.line.offer(slot).catch(() => false));
    if (slot && !handedOn) await releaseSlot(slot, answered);
  }
  return undefined;
}

/** Frees a slot, which wakes whoever waits for one; with Redis gone the lease runs out by itself. */
export async function releaseSlot(slot: NonNullable<FetchState['slot']>, originAnswered: boolean): Promise<void> {
  await slot.release(originAnswered).catch(() => undefined);
}
