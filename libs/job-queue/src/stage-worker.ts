import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { z } from 'zod';
import type { Lane, RerouteReason } from '@image-cloud/contracts';
import { type ImageCloudError, toImageCloudError } from '@image-cloud/errors';
import { FailureCache } from './failure-cache';
import { publishOutcome } from './outcome-publisher';

/** Seconds a failure that is not final stays visible: long enough for the clients already waiting. */
const TRANSIENT_FAILURE_SECONDS = 30;

/** BullMQ lock settings of a stage's workers: how fast a dead worker's job is picked up again. */
export interface LockTimings {
  /** The job lock, renewed every half of it while the job runs; a dead worker's lock expires after it. */
  lockDurationMs: number;
  /** How often live workers look for jobs whose lock expired and put them back. */
  stalledIntervalMs: number;
}

export interface StageWorkerOptions extends LockTimings {
  queueName: string;
  /** Blocking connection (maxRetriesPerRequest null); BullMQ duplicates it for its blocking reads. */
  connection: Redis;
  prefix: string;
  /** Jobs this process runs at once. */
  concurrency: number;
  /** How long a final failure (origin 404, undecodable image) is remembered. */
  negativeCacheSeconds: number;
  onError?: (error: Error) => void;
}

/** What a failed job tells the stage: the error, and whether it was the job's last attempt. */
export interface SettledFailure {
  error: ImageCloudError;
  isFinal: boolean;
}

/**
 * Records a failed attempt where waiters look (the failure cache: final failures for the negative
 * cache time, others only for the clients already waiting), tells the waiters, and returns what
 * BullMQ must see: an UnrecoverableError for failures that no retry can fix.
 */
export async function settleFailure(
  options: Pick<StageWorkerOptions, 'connection' | 'prefix' | 'negativeCacheSeconds'>,
  job: Job,
  where: { originalKey: string; field: string },
  thrown: unknown,
): Promise<SettledFailure & { rethrow: Error }> {
  const error = toImageCloudError(thrown);
  const ttl = error.negativelyCacheable ? options.negativeCacheSeconds : TRANSIENT_FAILURE_SECONDS;
  await new FailureCache(options.connection, options.prefix).record(where.originalKey, where.field, error, ttl);
  await publishOutcome(options.connection, options.prefix, { jobId: job.id!, ok: false, error: error.toJSON() });
  const isFinal = !error.retryable || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
  return { error, isFinal, rethrow: error.retryable ? error : new UnrecoverableError(`${error.code}: ${error.message}`) };
}

/** A BullMQ worker for one stage, with the lock timings and error logging every stage shares. */
export async function startStageWorker(
  options: StageWorkerOptions,
  processor: (job: Job, token?: string, signal?: AbortSignal) => Promise<void>,
): Promise<Worker> {
  const worker = new Worker(options.queueName, processor, {
    connection: options.connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs,
    stalledInterval: options.stalledIntervalMs,
    // A job may share a crashed process twice before it counts as poison.
    maxStalledCount: 2,
  });
  worker.on('error', (error) => options.onError?.(error));
  await worker.waitUntilReady();
  return worker;
}

export type JobEvent = {
  stage: 'fetch' | 'render';
  /** The render lane, or `sync-fetch`/`async-fetch`. */
  lane: Lane | 'sync-fetch' | 'async-fetch';
  jobId: string;
  /** `parked`: a prefetch whose origin domain had no slot for it waits as a delayed job, without a slot. */
  outcome: 'ok' | 'failed' | 'rerouted' | 'parked';
  durationMs: number;
  /** For renders that ran: the time of the render itself. */
  renderMs?: number;
  error?: ImageCloudError;
  rerouteReason?: RerouteReason;
};

/** Reports one job's events, each with the time since the job started. */
export function jobEventEmitter(
  onJobEvent: ((event: JobEvent) => void) | undefined,
  job: Pick<JobEvent, 'stage' | 'lane' | 'jobId'>,
): (event: Omit<JobEvent, 'stage' | 'lane' | 'jobId' | 'durationMs'>) => void {
  const started = Date.now();
  return (event) => onJobEvent?.({ ...job, durationMs: Date.now() - started, ...event });
}

/** The job's payload checked against its contract; a payload that breaks it can never succeed, so no retry. */
export function payloadOf<T>(schema: z.ZodType<T>, job: Job, stage: string): T {
  const parsed = schema.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`invalid ${stage} job payload: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}
