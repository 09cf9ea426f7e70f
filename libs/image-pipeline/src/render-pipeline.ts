import type { RenderJob } from '@image-cloud/contracts';
import { checkDeadline, type PipelineState, type RenderPipelineDeps, type RunOptions } from './pipeline-context';
import { ensureOriginal } from './steps/ensure-original';
import { findExistingResult } from './steps/find-existing-result';
import { renderAndStoreVariant } from './steps/render-and-store-variant';
import { routeByHeader } from './steps/route-by-header';

export interface RenderPipeline {
  /** Produces the job's result in storage, or throws an ImageCloudError. */
  run(job: RenderJob, options: RunOptions): Promise<void>;
}

/**
 * One render job, as a table of contents:
 * 1. find an already stored result (duplicate or retried job) → done
 * 2. ensure the original is stored (download once cluster-wide, probe header, check limits)
 * 3. route by header: obvious giants leave the normal lane now
 * 4. start the processing budget
 * 5. render the variant (orient, resize, encode; over budget → big lane) and store it
 */
export function createRenderPipeline(deps: RenderPipelineDeps): RenderPipeline {
  return {
    async run(job, options) {
      const state: PipelineState = { job, deps, options, done: false };
      await findExistingResult(state);
      if (state.done) return;
      await ensureOriginal(state);
      if (!job.transform) return;
      routeByHeader(state);
      state.deadline = Date.now() + options.budgetMs;
      checkDeadline(state, 'rendering');
      await renderAndStoreVariant(state);
    },
  };
}
