import { z } from 'zod';
import { batchIdSchema } from './batch';
import { URGENCIES, type LaneUrgency } from './lanes';
import { originUrlSchema } from './origin-url';
import { requestIdSchema } from './request-id';
import { originalKeyOf } from './storage-keys';

const hexKey = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 hex key');

/**
 * The payload of a fetch job: download one original (domain slot, peers, byte and time limits),
 * probe its header and store it. Validated by the producer before enqueueing and by the worker.
 */
export const fetchJobSchema = z
  .object({
    url: originUrlSchema,
    originalKey: hexKey,
    /** Ask the configured peer clouds before the origin. */
    useAlternativeClouds: z.boolean(),
    /** Sync: somebody is waiting (no priority, served first); async: a prefetch. */
    urgency: z.enum(URGENCIES),
    enqueuedAt: z.number().int(),
    /** The fire_and_forget batch this prefetch belongs to, for progress. */
    batchId: batchIdSchema.optional(),
    /** The request that queued the job, for the workers' log lines (never part of the job id). */
    requestId: requestIdSchema.optional(),
    /** Also compute the layout placeholders (dominant colour, ThumbHash), even for an original stored without them. */
    placeholders: z.boolean().optional(),
  })
  .strict();

export type FetchJob = z.infer<typeof fetchJobSchema>;

export function fetchJobFor(
  url: string,
  urgency: LaneUrgency,
  options: { useAlternativeClouds?: boolean; batchId?: string; requestId?: string; placeholders?: boolean } = {},
): FetchJob {
  return {
    url,
    originalKey: originalKeyOf(url),
    useAlternativeClouds: options.useAlternativeClouds ?? false,
    urgency,
    enqueuedAt: Date.now(),
    ...(options.batchId === undefined ? {} : { batchId: options.batchId }),
    ...(options.requestId === undefined ? {} : { requestId: options.requestId }),
    ...(options.placeholders ? { placeholders: true } : {}),
  };
}

/**
 * Deterministic id: one queued download per original and urgency cluster-wide. A sync fetch never
 * waits behind a queued prefetch of the same original; whichever runs second finds it stored (or
 * waits for the download lease of the first). BullMQ ids must not contain ':'.
 */
export function fetchJobIdOf(job: Pick<FetchJob, 'originalKey' | 'urgency' | 'placeholders'>): string {
  // Its own id: a finished plain fetch of the same original must not stand in for it.
  return `fetch-${job.urgency}-${job.originalKey}${job.placeholders ? '-placeholders' : ''}`;
}

/** The failure-cache field of an original's download: shared by sync and async fetches. */
export const FETCH_FAILURE_FIELD = 'fetch';
