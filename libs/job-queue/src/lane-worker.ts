import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { type Lane, type RenderJob, renderJobIdOf, renderJobSchema } from '@image-cloud/contracts';
import { ImageCloudError, isNegativelyCacheable, toImageCloudError } from '@image-cloud/errors';
import { FailureCache } from './failure-cache';
import { publishOutcome } from './outcome-publisher';

/** Seconds a retryable failure stays visible: long enough for the clients already waiting. */
const TRANSIENT_FAILURE_SECONDS = 30;

export interface LaneWorkerOptions {
  lane: Lane;
  /** Blocking connection (maxRetriesPerRequest null); BullMQ duplicates it for its blocking reads. */
  connection: Redis;
  prefix: string;
  /** Jobs this process runs at once: one per core it owns. */
  concurrency: number;
  /** How long an undecodable image or an origin 404 is remembered. */
  negativeCacheSeconds: number;
  /** Does the work; throws ImageCloudError for failures. */
  process: (job: RenderJob, context: { attempt: number; signal: AbortSignal }) => Promise<void>;
  /** Told about every job start and end, for logs and metrics. */
  onJobEvent?: (event: { lane: Lane; jobId: string; outcome: 'ok' | 'failed'; error?: ImageCloudError; durationMs: number }) => void;
  onError?: (error: Error) => void;
}

/**
 * Runs render jobs from one lane, publishes each outcome, records failures for negative caching and
 * tells BullMQ which failures are worth retrying.
 */
export function startLaneWorker(options: LaneWorkerOptions): Worker {
  const failures = new FailureCache(options.connection, options.prefix);

  const processor = async (job: Job, _token?: string, signal?: AbortSignal): Promise<void> => {
    const started = Date.now();
    const parsed = renderJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid render job payload: ${parsed.error.issues[0]?.message}`);
    const payload = parsed.data;
    const jobId = job.id ?? renderJobIdOf(payload);
    try {
      await options.process(payload, { attempt: job.attemptsMade + 1, signal: signal ?? new AbortController().signal });
      await publishOutcome(options.connection, options.prefix, { jobId, ok: true, lane: options.lane });
      options.onJobEvent?.({ lane: options.lane, jobId, outcome: 'ok', durationMs: Date.now() - started });
    } catch (thrown) {
      const error = toImageCloudError(thrown);
      // Final failures are remembered for the negative-cache time; the others only long enough to
      // reach the clients already waiting (the server never serves those as final).
      const ttl = isNegativelyCacheable(error.code) ? options.negativeCacheSeconds : TRANSIENT_FAILURE_SECONDS;
      await failures.record(payload.originalKey, jobId, error, ttl);
      await publishOutcome(options.connection, options.prefix, { jobId, ok: false, error: error.toJSON() });
      options.onJobEvent?.({ lane: options.lane, jobId, outcome: 'failed', error, durationMs: Date.now() - started });
      if (!error.retryable) throw new UnrecoverableError(`${error.code}: ${error.message}`);
      throw error;
    }
  };

  const worker = new Worker(options.lane, processor, {
    connection: options.connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
    // A long render must not look stalled; the lock is renewed every lockDuration/2.
    lockDuration: 60_000,
    maxStalledCount: 2,
  });
  worker.on('error', (error) => options.onError?.(error));
  return worker;
}
