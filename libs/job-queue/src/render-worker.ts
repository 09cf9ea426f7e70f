import { randomUUID } from 'node:crypto';
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  type Lane,
  type LaneSize,
  RENDER_JOB_NAME,
  type RenderJob,
  RerouteToBigLane,
  WaitForOriginSlot,
  laneOf,
  laneUrgency,
  queueNameOf,
  renderJobIdOf,
  renderJobSchema,
} from '@image-cloud/contracts';
import { ImageCloudError, isNegativelyCacheable, toImageCloudError } from '@image-cloud/errors';
import { FailureCache } from './failure-cache';
import { LaneLoad } from './lane-load';
import { publishOutcome } from './outcome-publisher';
import { originWaiterId } from './parked-jobs';
import { createRenderQueue, jobOptionsFor } from './render-queues';

/** Seconds a failure that is not final stays visible: long enough for the clients already waiting. */
const TRANSIENT_FAILURE_SECONDS = 30;
const HEARTBEAT_EVERY_MS = 5_000;
const HEARTBEAT_TTL_MS = 15_000;

export type JobEvent = {
  lane: Lane;
  jobId: string;
  /** `parked`: a prefetch whose origin domain was saturated waits as a delayed job, without a slot. */
  outcome: 'ok' | 'failed' | 'rerouted' | 'parked';
  durationMs: number;
  error?: ImageCloudError;
  rerouteReason?: RerouteToBigLane['reason'];
};

/** How a job ended for good: done, or failed with an error code and no attempt left. */
export type FinalOutcome = { ok: true } | { ok: false; code: string };

export interface RenderWorkerOptions {
  /** The lane size served: its sync lane first, then its async lane. */
  size: LaneSize;
  /** Blocking connection (maxRetriesPerRequest null); BullMQ duplicates it for its blocking reads. */
  connection: Redis;
  prefix: string;
  /** Jobs this process runs at once: one per core it owns. */
  concurrency: number;
  /** How long an undecodable image or an origin 404 is remembered. */
  negativeCacheSeconds: number;
  /** Attempts of prefetch jobs moved to the big lane. */
  asyncAttempts: number;
  /** Does the work; throws ImageCloudError for failures, RerouteToBigLane to move the job. */
  process: (job: RenderJob, context: { attempt: number; signal?: AbortSignal; waiterId: string }) => Promise<void>;
  onJobEvent?: (event: JobEvent) => void;
  /** A job ended for good (not when it is retried, rerouted or parked); awaited before its outcome is published. */
  onFinalOutcome?: (job: RenderJob, outcome: FinalOutcome) => Promise<void>;
  onError?: (error: Error) => void;
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
 * lane when asked, and tells BullMQ which failures are worth retrying.
 */
export async function startRenderWorker(options: RenderWorkerOptions): Promise<RunningRenderWorker> {
  const { connection, prefix, size } = options;
  const failures = new FailureCache(connection, prefix);
  const load = new LaneLoad(connection, prefix);
  const bigQueue = size === 'normal' ? createRenderQueue('big', connection, prefix) : null;
  const workerId = randomUUID();
  let active = 0;
  let maxActive = 0;

  const processor = async (job: Job, token?: string, signal?: AbortSignal): Promise<void> => {
    const parsed = renderJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid render job payload: ${parsed.error.issues[0]?.message}`);
    const payload = parsed.data;
    const jobId = job.id ?? renderJobIdOf(payload);
    const started = Date.now();
    const emit = (event: Omit<JobEvent, 'lane' | 'jobId' | 'durationMs'>) => {
      const durationMs = Date.now() - started;
      options.onJobEvent?.({ lane: payload.lane, jobId, durationMs, ...event });
      return durationMs;
    };
    // Reported before the outcome is published, so whoever sees the result can also see the event.
    const report = (event: Omit<JobEvent, 'lane' | 'jobId' | 'durationMs'>) => load.recordJob(size, emit(event));
    active++;
    maxActive = Math.max(maxActive, active);
    try {
      await options.process(payload, { attempt: job.attemptsMade + 1, signal, waiterId: originWaiterId(size, jobId) });
      await report({ outcome: 'ok' });
      await options.onFinalOutcome?.(payload, { ok: true });
      await publishOutcome(connection, prefix, { jobId, ok: true, lane: payload.lane });
    } catch (thrown) {
      if (thrown instanceof WaitForOriginSlot) {
        // Parked without using an attempt; BullMQ takes the next job for this slot meanwhile. A park
        // is not a job duration, so the lane's average stays out of it.
        emit({ outcome: 'parked' });
        await job.moveToDelayed(Date.now() + thrown.delayMs, token);
        throw new DelayedError();
      }
      if (thrown instanceof RerouteToBigLane && bigQueue) {
        const lane = laneOf(laneUrgency(payload.lane), 'big');
        await report({ outcome: 'rerouted', rerouteReason: thrown.reason });
        await bigQueue.add(RENDER_JOB_NAME, { ...payload, lane }, { ...jobOptionsFor(lane, options.asyncAttempts), jobId });
        return;
      }
      const error = toImageCloudError(thrown);
      // Final failures are remembered for the negative-cache time; the others only long enough to
      // reach the clients already waiting (the server never serves those as final).
      const ttl = isNegativelyCacheable(error.code) ? options.negativeCacheSeconds : TRANSIENT_FAILURE_SECONDS;
      await failures.record(payload.originalKey, jobId, error, ttl);
      await report({ outcome: 'failed', error });
      const isFinal = !error.retryable || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (isFinal) await options.onFinalOutcome?.(payload, { ok: false, code: error.code });
      await publishOutcome(connection, prefix, { jobId, ok: false, error: error.toJSON() });
      if (!error.retryable) throw new UnrecoverableError(`${error.code}: ${error.message}`);
      throw error;
    } finally {
      active--;
    }
  };

  const worker = new Worker(queueNameOf(size), processor, {
    connection,
    prefix,
    concurrency: options.concurrency,
    // A long render must not look stalled; the lock is renewed every lockDuration/2.
    lockDuration: 60_000,
    maxStalledCount: 2,
  });
  worker.on('error', (error) => options.onError?.(error));
  await worker.waitUntilReady();

  const beat = () => load.heartbeat(size, workerId, options.concurrency, HEARTBEAT_TTL_MS).catch((error: Error) => options.onError?.(error));
  await beat();
  const heartbeat = setInterval(beat, HEARTBEAT_EVERY_MS);
  heartbeat.unref();

  return {
    worker,
    stats: () => ({ active, maxActive }),
    async close(force = false) {
      clearInterval(heartbeat);
      await load.leave(size, workerId, options.concurrency).catch(() => undefined);
      await worker.close(force);
      await bigQueue?.close();
    },
  };
}
