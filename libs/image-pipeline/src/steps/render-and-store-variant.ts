import { probeImage, renderVariant } from '@image-cloud/imaging';
import type { PipelineState } from '../pipeline-context';

/** Resizes and encodes the variant within what is left of the budget, then stores it. */
export async function renderAndStoreVariant(state: PipelineState): Promise<void> {
  const { job, deps, options } = state;
  if (!job.transform || !job.variantKey || !state.original) return;
  const original = state.original;
  const probe = original.probe ?? (await probeImage(original.bytes, deps.limits));
  const remainingMs = Math.max(1, (state.deadline ?? Date.now() + options.budgetMs) - Date.now());
  const variant = await renderVariant(original.bytes, probe, job.transform, {
    limits: deps.limits,
    quality: deps.quality,
    timeoutMs: remainingMs,
  });
  await deps.storage.putVariant(job.originalKey, job.variantKey, variant.bytes, {
    contentType: variant.contentType,
    width: variant.width,
    height: variant.height,
    format: variant.format,
    frames: variant.frames,
    createdAt: new Date().toISOString(),
    lane: options.lane,
  });
  state.done = true;
}
