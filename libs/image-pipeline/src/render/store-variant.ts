import type { RenderOutcome, RenderState } from './render-ports';

/** Stores the variant, and teaches the cost model what it cost. */
export async function storeVariant(state: RenderState): Promise<RenderOutcome> {
  const { job, deps, variant, work, size, renderMs } = state;
  if (!variant || !work || renderMs === undefined) throw new Error('storeVariant needs a rendered variant');
  await deps.storage.putVariant(job.originalKey, job.variantKey, variant.bytes, {
    contentType: variant.contentType,
    width: variant.width,
    height: variant.height,
    format: variant.format,
    frames: variant.frames,
    createdAt: new Date().toISOString(),
    lane: size,
  });
  await deps.costs.recordRender(work, renderMs).catch(() => undefined);
  return { kind: 'done', size, renderMs };
}
