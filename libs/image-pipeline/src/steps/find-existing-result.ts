import type { PipelineState } from '../pipeline-context';

/** A retried or duplicate job whose result is already stored has nothing left to do (renders are idempotent). */
export async function findExistingResult(state: PipelineState): Promise<void> {
  const { job, deps } = state;
  if (job.variantKey) {
    state.done = (await deps.storage.getVariantMeta(job.originalKey, job.variantKey)) !== null;
  } else {
    state.done = (await deps.storage.getOriginalMeta(job.originalKey)) !== null;
  }
}
