import { ImageCloudError } from '@image-cloud/errors';
import { ACCEPTED_FORMATS, type AcceptedFormat, type ImageProbe } from '@image-cloud/imaging';
import type { OriginalMeta } from '@image-cloud/storage';
import type { RenderOutcome, RenderState } from './render-ports';

/**
 * The header facts stored with the original, so the render path need not decode the header again;
 * null for metas stored before they carried all of them (the renderer then reads the header).
 */
function probeFromMeta(meta: OriginalMeta): ImageProbe | null {
  if (meta.hasAlpha === undefined || !(ACCEPTED_FORMATS as readonly string[]).includes(meta.format)) return null;
  return {
    format: meta.format as AcceptedFormat,
    contentType: meta.contentType,
    width: meta.width,
    height: meta.height,
    frames: meta.frames,
    ...(meta.orientation ? { orientation: meta.orientation } : {}),
    hasAlpha: meta.hasAlpha,
  };
}

/**
 * Resizes and encodes within what is left of the lane's budget. A render over budget has been
 * stopped by the renderer (its child killed, the core freed); the cost model learns that this
 * kind of render is dearer, and the lane policy says whether the job moves or fails.
 */
export async function renderVariant(state: RenderState): Promise<RenderOutcome | undefined> {
  const { job, deps, original, work, size } = state;
  if (!original || !work) throw new Error('renderVariant needs the original and its work');
  const timeoutMs = Math.max(1, state.deadline - Date.now());
  const started = Date.now();
  try {
    const source = { path: original.path, size: original.meta.bytes };
    state.variant = await deps.render(source, probeFromMeta(original.meta), job.transform, { limits: deps.limits, quality: deps.quality, timeoutMs });
    state.renderMs = Date.now() - started;
    return undefined;
  } catch (error) {
    if (error instanceof ImageCloudError && error.code === 'image_corrupt') {
      // Its header passed the fetch stage's probe, its pixels do not decode: never serve it raw.
      await deps.storage.deleteImage(job.originalKey);
      throw error;
    }
    if (!(error instanceof ImageCloudError) || error.code !== 'processing_timeout') throw error;
    await deps.costs.recordOverrun(work, deps.lanes.budgetMs(size)).catch(() => undefined);
    const next = deps.lanes.overBudget(size);
    if (next.kind === 'reroute') return next;
    throw finalTimeout(error.message);
  }
}

/**
 * A job over the big lane's budget has nothing left to try: its processing_timeout is final for
 * the variant, remembered like a corrupt image, so a hostile variant costs one big-lane budget,
 * not one per request.
 */
export function finalTimeout(message: string): ImageCloudError {
  return new ImageCloudError('processing_timeout', message, { final: true });
}
