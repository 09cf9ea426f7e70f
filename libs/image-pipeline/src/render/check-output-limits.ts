import { checkOutputSize } from '@image-cloud/imaging';
import type { RenderOutcome, RenderState } from './render-ports';

/** Output is bounded like input: a transform asking for too many pixels × frames is refused before any render. */
export async function checkOutputLimits(state: RenderState): Promise<RenderOutcome | undefined> {
  if (!state.original) throw new Error('checkOutputLimits needs the original');
  checkOutputSize(state.original.meta, state.job.transform, state.deps.limits);
  return undefined;
}
