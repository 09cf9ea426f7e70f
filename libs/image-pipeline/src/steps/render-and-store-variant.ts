import { RerouteToBigLane, laneSize } from '@image-cloud/contracts';
import { ImageCloudError } from '@image-cloud/errors';
import { ACCEPTED_FORMATS, type AcceptedFormat, type ImageProbe, probeImage } from '@image-cloud/imaging';
import type { OriginalMeta } from '@image-cloud/storage';
import type { PipelineState } from '../pipeline-context';

/** The header facts stored with the original, so the render path need not decode the header again. */
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
 * Resizes and encodes the variant within what is left of the budget, then stores it. In the
 * normal lane, running over the budget moves the job to the big lane (the renderer has already
 * stopped the work and freed the slot).
 */
export async function renderAndStoreVariant(state: PipelineState): Promise<void> {
  const { job, deps, options } = state;
  if (!job.transform || !job.variantKey || !state.original) return;
  const original = state.original;
  const probe = original.probe ?? probeFromMeta(original.meta) ?? (await probeImage(original.bytes, deps.limits));
  const remainingMs = Math.max(1, (state.deadline ?? Date.now() + options.budgetMs) - Date.now());
  let variant;
  try {
    variant = await deps.render(original.bytes, probe, job.transform, { limits: deps.limits, quality: deps.quality, timeoutMs: remainingMs });
  } catch (error) {
    if (error instanceof ImageCloudError && error.code === 'processing_timeout' && laneSize(options.lane) === 'normal') {
      throw new RerouteToBigLane('budget');
    }
    throw error;
  }
  await deps.storage.putVariant(job.originalKey, job.variantKey, variant.bytes, {
    contentType: variant.contentType,
    width: variant.width,
    height: variant.height,
    format: variant.format,
    frames: variant.frames,
    createdAt: new Date().toISOString(),
    lane: laneSize(options.lane),
  });
  state.done = true;
}
