import { ImageCloudError } from '@image-cloud/errors';
import type { RenderOutcome, RenderState } from './render-ports';

/** A retried or duplicate job whose variant is already stored has nothing left to do. */
export async function findExistingVariant(state: RenderState): Promise<RenderOutcome | undefined> {
  const { job, deps, size } = state;
  return (await deps.storage.getVariantMeta(job.originalKey, job.variantKey)) ? { kind: 'done', size, renderMs: null } : undefined;
}

/**
 * Finds the original the fetch stage stored (its meta and file; the renderer reads the bytes);
 * gone only when delete_image raced the render.
 */
export async function loadOriginal(state: RenderState): Promise<RenderOutcome | undefined> {
  const stored = await state.deps.storage.originalFile(state.job.originalKey);
  if (!stored) throw new ImageCloudError('unavailable', 'The original was removed before it could be rendered; try again.', { retryAfterSeconds: 1 });
  state.original = stored;
  return undefined;
}
