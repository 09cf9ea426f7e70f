import { UnrecoverableError, type Job, type Worker } from 'bullmq';
import { FETCH_FAILURE_FIELD, type LaneSize, type RenderJob, type RerouteReason, queueNameOf, renderJobIdOf, renderJobSchema } from '@image-cloud/contracts';
import { ImageCloudError } from '@image-cloud/errors';
import { FailureCache } from './failure-cache';
import { publishOutcome } from './outcome-publisher';
import { RenderQueues } from './render-queues';
import { type JobEvent, type StageWorkerOptions, jobEventEmitter, payloadOf, settleFailure, startStageWorker } from './stage-worker';


/** How a render job ends, besides failing. */
export type RenderJobOutcome = { kind: 'done'; renderMs: number | null } | { kind: 'reroute'; reason: RerouteReason };

export interface RenderWorkerOptions extends Omit<StageWorkerOptions, 'queueName'> {
  /** The lane size served: its sync lane first, then its async lane. */
  size: LaneSize;
  /** Attempts of async jobs moved to the big lane. */
  asyncAttempts: number;
  /** Does the work; throws ImageCloudError for failures. */
  process: (job: RenderJob, context: { signal?: AbortSignal }) => Promise<RenderJobOutcome>;
  onJobEvent?: (event: JobEvent) => void;
}

export interface RunningRenderWorker {
  worker: Worker;
  /** Jobs running now, and the most that ever ran at once in this process. */
  stats(): { active: number; maxActive: number };
  close(force?: boolean): Promise<void>;
}

/**
 * Runs render jobs of one lane size (sync before async, as BullMQ serves un-prioritized jobs
 * first), publishes each outcome, records failures for negative caching, moves jobs to the big
 * lane when the pipeline says so, and tells BullMQ which failures are worth retrying.
 */
export async function startRenderWorker(options: RenderWorkerOptions): Promise<RunningRenderWorker> {
  const { connection, prefix, size } = options;
  const queues = new RenderQueues(connection, prefix, options.asyncAttempts);
  let active = 0;
  let maxActive = 0;

  const processor = async (job: Job, _token?: string, signal?: AbortSignal): Promise<void> => {
    const payload = payloadOf(renderJobSchema, job, 'render');
    const jobId = job.id ?? renderJobIdOf(payload);
    // Reported before the outcome is published, so whoever sees the result can also see the event.
    const emit = jobEventEmitter(options.onJobEvent, { stage: 'render', lane: payload.lane, jobId });
    active++;
    maxActive = Math.max(maxActive, active);
    try {
      const outcome = await options.process(payload, { signal });
      switch (outcome.kind) {
        case 'done':
          emit({ outcome: 'ok', ...(outcome.renderMs === null ? {} : { renderMs: outcome.renderMs }) });
          await publishOutcome(connection, prefix, { jobId, ok: true, lane: payload.lane });
          return;
        case 'reroute':
          if (size !== 'normal') throw new UnrecoverableError('a big-lane job cannot be rerouted');
          emit({ outcome: 'rerouted', rerouteReason: outcome.reason });
          await queues.reroute(payload);
          return;
      }
    } catch (thrown) {
      if (thrown instanceof UnrecoverableError) throw thrown;
      // An original that does not decode is corrupt for every variant and for its raw bytes (its
      // render removed it): remembered for the whole image, before any waiter hears of it.
      if (thrown instanceof ImageCloudError && thrown.code === 'image_corrupt') {
        await new FailureCache(connection, prefix).record(payload.originalKey, FETCH_FAILURE_FIELD, thrown, options.negativeCacheSeconds);
      }
      const failure = await settleFailure(options, job, { originalKey: payload.originalKey, field: jobId }, thrown);
      emit({ outcome: 'failed', error: failure.error });
      throw failure.rethrow;
    } finally {
      active--;
    }
  };

  const worker = await startStageWorker({ ...options, queueName: queueNameOf(size) }, processor);
  return {
    worker,
    stats: () => ({ active, maxActive }),
    async close(force = false) {
      await worker.close(force);
      await queues.close();
    },
  };
}
