import { DelayedError, type Job, type Worker } from 'bullmq';
import { FETCH_FAILURE_FIELD, type FetchJob, fetchJobIdOf, fetchJobSchema, fetchQueueNameOf } from '@image-cloud/contracts';
import { publishOutcome } from './outcome-publisher';
import { originWaiterId } from './parked-jobs';
import { type JobEvent, type StageWorkerOptions, jobEventEmitter, payloadOf, settleFailure, startStageWorker } from './stage-worker';

/** How a prefetch ended for good: done, or failed (after its last attempt) with an error code. */
export type FinalOutcome = { ok: true } | { ok: false; code: string };

/** A Redis lease a job still holds when it ends (its owner token lets a script release it). */
export interface HeldLease {
  readonly key: string;
  readonly token: string;
  release(): Promise<void>;
}

/**
 * How a fetch job ends, besides failing. `lease`: a done job that still holds its original's
 * download lease hands it to the stage, which frees it in the job's last round trip (onFinal).
 */
export type FetchJobOutcome = { kind: 'done'; lease?: HeldLease } | { kind: 'park'; delayMs: number; reason: string };

export interface FetchWorkerOptions extends Omit<StageWorkerOptions, 'queueName'> {
  /** Prefetches this process runs at once; `concurrency` is for downloads somebody waits for. */
  prefetchConcurrency: number;
  /** Does the work; throws ImageCloudError for failures. `waiterId` names the job for a slot's wake-up. */
  process: (job: FetchJob, context: { signal?: AbortSignal; waiterId: string }) => Promise<FetchJobOutcome>;
  /**
   * A prefetch ended for good (done, or failed after its last attempt): batch progress. `jobKey`:
   * the BullMQ job's hash, which lets a hook count the job's end once per run. `lease`: the done
   * job's download lease, which the hook must release (with the count, in one round trip).
   */
  onFinal?: (job: FetchJob, outcome: FinalOutcome, jobKey: string, lease?: HeldLease) => Promise<void>;
  onJobEvent?: (event: JobEvent) => void;
}

export interface RunningFetchWorker {
  /** The workers of downloads somebody waits for, and of prefetches. */
  workers: { sync: Worker; async: Worker };
  /**
   * Holds prefetches back (none starts; running ones finish) while `held` is true: someone waiting
   * beats a prefetch for the CPU too, not only in the queues.
   */
  holdPrefetches(held: boolean): void;
  close(force?: boolean): Promise<void>;
}

/**
 * Runs the fetch stage: many downloads at once per process (they hold I/O, not cores), sync
 * downloads and prefetches from queues of their own, so a prefetch never takes a sync download's
 * place. A prefetch told to park becomes a delayed job without using an attempt, so it holds
 * nothing while its domain is saturated.
 */
export async function startFetchWorker(options: FetchWorkerOptions): Promise<RunningFetchWorker> {
  const { connection, prefix } = options;

  const processor = async (job: Job, token?: string, signal?: AbortSignal): Promise<void> => {
    const payload = payloadOf(fetchJobSchema, job, 'fetch');
    const jobId = job.id ?? fetchJobIdOf(payload);
    const emit = jobEventEmitter(options.onJobEvent, { stage: 'fetch', lane: `${payload.urgency}-fetch`, jobId });
    const jobKey = `${job.queueQualifiedName}:${jobId}`;
    let outcome: FetchJobOutcome;
    try {
      outcome = await options.process(payload, { signal, waiterId: originWaiterId(jobId) });
    } catch (thrown) {
      const failure = await settleFailure(options, job, { originalKey: payload.originalKey, field: FETCH_FAILURE_FIELD }, thrown);
      emit({ outcome: 'failed', error: failure.error });
      if (failure.isFinal) await options.onFinal?.(payload, { ok: false, code: failure.error.code }, jobKey);
      throw failure.rethrow;
    }
    switch (outcome.kind) {
      case 'done':
        emit({ outcome: 'ok' });
        if (options.onFinal) await options.onFinal(payload, { ok: true }, jobKey, outcome.lease);
        else await outcome.lease?.release();
        // Only sync fetches have waiters listening for their id; a prefetch's progress is its batch.
        if (payload.urgency === 'sync') await publishOutcome(connection, prefix, { jobId, ok: true });
        return;
      case 'park':
        emit({ outcome: 'parked' });
        await job.moveToDelayed(Date.now() + outcome.delayMs, token);
        throw new DelayedError();
    }
  };

  const sync = await startStageWorker({ ...options, queueName: fetchQueueNameOf('sync') }, processor);
  const prefetches = await startStageWorker({ ...options, concurrency: options.prefetchConcurrency, queueName: fetchQueueNameOf('async') }, processor);
  let held = false;
  return {
    workers: { sync, async: prefetches },
    holdPrefetches(hold) {
      if (hold === held) return;
      held = hold;
      if (hold) void prefetches.pause(true).catch(() => undefined);
      else prefetches.resume();
    },
    async close(force = false) {
      await Promise.all([sync.close(force), prefetches.close(force)]);
    },
  };
}
