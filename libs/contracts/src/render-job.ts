import { z } from 'zod';
import { type Lane, LANES, laneUrgency } from './lanes';
import { originUrlSchema } from './origin-url';
import { requestIdSchema } from './request-id';
import { originalKeyOf, variantKeyOf } from './storage-keys';
import { type Transform, transformSchema } from './transform';

const hexKey = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 hex key');

/**
 * The payload of a render job: render one variant from an original that is already stored (the
 * fetch stage stored it). Validated by the producer before enqueueing and by the worker on receipt.
 */
export const renderJobSchema = z
  .object({
    url: originUrlSchema,
    originalKey: hexKey,
    transform: transformSchema,
    variantKey: hexKey,
    lane: z.enum(LANES),
    enqueuedAt: z.number().int(),
    /** The request that queued the job, for the workers' log lines (never part of the job id). */
    requestId: requestIdSchema.optional(),
  })
  .strict();

export type RenderJob = z.infer<typeof renderJobSchema>;

/** A render job for `url` in `lane`, with its keys derived from the URL and the transform. */
export function renderJobFor(url: string, lane: Lane, transform: Transform, requestId?: string): RenderJob {
  return {
    url,
    originalKey: originalKeyOf(url),
    transform,
    variantKey: variantKeyOf(url, transform),
    lane,
    enqueuedAt: Date.now(),
    ...(requestId === undefined ? {} : { requestId }),
  };
}

/**
 * Deterministic job id: identical requests share one job cluster-wide while it is queued or running.
 * Sync and async jobs get different ids, so a client never waits behind a queued prefetch. The id
 * stays the same when a job moves from the normal to the big lane. BullMQ ids must not contain ':'.
 */
export function renderJobIdOf(job: Pick<RenderJob, 'variantKey' | 'lane'>): string {
  return `${laneUrgency(job.lane)}-render-${job.variantKey}`;
}
