import { type RenderJob, laneSize } from '@image-cloud/contracts';
import { ImageCloudError } from '@image-cloud/errors';
import { type Step, runSteps } from '../run-steps';
import { chooseLane } from './choose-lane';
import { checkOutputLimits } from './check-output-limits';
import { findExistingVariant, loadOriginal } from './load-original';
import type { RenderOutcome, RenderPipelineDeps, RenderRunOptions, RenderState } from './render-ports';
import { finalTimeout, renderVariant } from './render-variant';
import { storeVariant } from './store-variant';

export interface RenderPipeline {
  /** Renders the job's variant into storage, or says where it belongs instead; throws an ImageCloudError on failure. */
  run(job: RenderJob, options?: RenderRunOptions): Promise<RenderOutcome>;
}

/**
 * One render job, as a table of contents. The lane's budget starts when the job does, and the
 * deadline is checked between every step (and enforced inside the render by killing it).
 * 1. find the variant stored already (duplicate or retried job) → done
 * 2. load the original (the fetch stage stored it)
 * 3. check the output limits (pixels × frames asked for) → image_too_large
 * 4. choose the lane (header thresholds, predicted cost) → reroute to the big lane
 * 5. render (orient, resize, encode; output bytes checked) → over budget: reroute, or fail in the big lane
 * 6. store the variant, teach the cost model → done
 */
export function createRenderPipeline(deps: RenderPipelineDeps): RenderPipeline {
  const steps: Step<RenderState, RenderOutcome>[] = [
    { name: 'find the stored variant', run: findExistingVariant },
    { name: 'load the original', run: loadOriginal },
    { name: 'check the output limits', run: checkOutputLimits },
    { name: 'choose the lane', run: chooseLane },
    { name: 'render', run: renderVariant },
    { name: 'store the variant', run: storeVariant },
  ];
  return {
    run(job, options = {}) {
      const size = laneSize(job.lane);
      const state: RenderState = { job, deps, options, size, deadline: Date.now() + deps.lanes.budgetMs(size) };
      return runSteps(steps, state, checkDeadline);
    },
  };
}

/**
 * Between steps: a stopped job fails; a job past its lane's deadline moves or fails as the lane
 * policy says. A finished render is never thrown away: once the variant exists, it is stored.
 */
function checkDeadline(state: RenderState, nextStep: string): RenderOutcome | undefined {
  if (state.options.signal?.aborted) throw new ImageCloudError('processing_timeout', `Processing was stopped before it could ${nextStep}.`);
  if (Date.now() <= state.deadline || state.variant) return undefined;
  const next = state.deps.lanes.overBudget(state.size);
  if (next.kind === 'reroute') return next;
  throw finalTimeout(`Processing ran over its ${state.deps.lanes.budgetMs(state.size)} ms budget before it could ${nextStep}.`);
}
