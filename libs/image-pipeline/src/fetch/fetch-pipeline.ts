import type { FetchJob } from '@image-cloud/contracts';
import { ImageCloudError } from '@image-cloud/errors';
import { type Step, runSteps } from '../run-steps';
import { downloadFromOrigin, downloadFromPeers, releaseSlot } from './download-original';
import type { FetchOutcome, FetchPipelineDeps, FetchRunOptions, FetchState } from './fetch-ports';
import { storeOriginal } from './store-original';
import { takeDownloadLease } from './take-download-lease';
import { LocalSlotLine } from './local-slot-line';
import { takeOriginSlot } from './take-origin-slot';

export interface FetchPipeline {
  /** Gets the job's original into storage, or says to park it; throws an ImageCloudError on failure. */
  run(job: FetchJob, options: FetchRunOptions): Promise<FetchOutcome>;
}

/**
 * One fetch job, as a table of contents. It runs in the fetch stage: many at once per process,
 * holding I/O slots, never a render core.
 * 1. take the original's download lease (or wait for the job that holds it) → done when the
 *    original is stored already, or once the lease holder stored it
 * 2. ask the peer clouds (use_alternative_clouds)
 * 3. take a download slot of the origin's domain (sync waits its turn; a prefetch may park)
 * 4. download from the origin (byte and time limits; 429/503 back the domain off), then hand the
 *    slot to the next download of the domain waiting in this process, or free it
 * 5. probe the header, check the limits, store the original → done
 */
export function createFetchPipeline(deps: FetchPipelineDeps): FetchPipeline {
  const line = new LocalSlotLine();
  const steps: Step<FetchState, FetchOutcome>[] = [
    { name: 'take the download lease', run: takeDownloadLease },
    { name: 'ask the peer clouds', run: downloadFromPeers },
    { name: 'take a download slot', run: takeOriginSlot },
    { name: 'download from the origin', run: downloadFromOrigin },
    { name: 'store the original', run: storeOriginal },
  ];
  return {
    async run(job, options) {
      const state: FetchState = { job, deps, options, line };
      try {
        const outcome = await runSteps(steps, state, stopWhenAborted);
        if (outcome.kind === 'done' && options.keepLeaseWhenDone && state.lease) {
          const { lease } = state;
          state.lease = undefined;
          return { ...outcome, lease };
        }
        return outcome;
      } finally {
        if (state.slot) await releaseSlot(state.slot, false);
        await state.lease?.release().catch(() => undefined);
      }
    },
  };
}

/** Downloads have their own time limits; between steps only a stopped job (shutdown) ends early. */
function stopWhenAborted(state: FetchState, nextStep: string): undefined {
  if (state.options.signal?.aborted) throw new ImageCloudError('processing_timeout', `The download was stopped before it could ${nextStep}.`);
  return undefined;
}
