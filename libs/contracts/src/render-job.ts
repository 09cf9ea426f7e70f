import { z } from 'zod';
import { batchIdSchema } from './batch';
import { type Lane, LANES, laneUrgency } from './lanes';
import { originUrlSchema } from './origin-url';
import { originalKeyOf, variantKeyOf } from './storage-keys';
import { type Transform, transformSchema } from './transform';

const hexKey = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 hex key');

/** The payload of a render job. Validated by the producer before enqueueing and by the worker on receipt. */
export const renderJobSchema = z
  .object({
    url: originUrlSchema,
    originalKey: hexKey,
    /** null: only make sure the original is fetched and stored. */
    transform: transformSchema.nullable(),
    variantKey: hexKey.nullable(),
    /** false for only_send_if_local: render from a cached original, never download. */
    allowDownload: z.boolean(),
    useAlternativeClouds: z.boolean(),
    lane: z.enum(LANES),
    enqueuedAt: z.number().int(),
    /** The fire_and_forget batch this prefetch belongs to, for progress. */
    batchId: batchIdSchema.optional(),
  })
  .strict()
  .refine((job) => (job.transform === null) === (job.variantKey === null), 'transform and variantKey go together');

export type RenderJob = z.infer<typeof renderJobSchema>;

/**
 * A render job for `url` with its keys derived: `transform` null (the default) only fetches and
 * stores the original. Downloads are allowed and peers are not asked unless said otherwise.
 */
export function renderJobFor(
  url: string,
  lane: Lane,
  options: { transform?: Transform | null; allowDownload?: boolean; useAlternativeClouds?: boolean; batchId?: string } = {},
): RenderJob {
  const transform = options.transform ?? null;
  return {
    url,
    originalKey: originalKeyOf(url),
    transform,
    variantKey: transform ? variantKeyOf(url, transform) : null,
    allowDownload: options.allowDownload ?? true,
    useAlternativeClouds: options.useAlternativeClouds ?? false,
    lane,
    enqueuedAt: Date.now(),
    ...(options.batchId === undefined ? {} : { batchId: options.batchId }),
  };
}

/** What the waiting side watches for: the variant key, or the original key when there is no transform. */
export function resultKeyOf(job: Pick<RenderJob, 'originalKey' | 'variantKey'>): string {
  return job.variantKey ?? job.originalKey;
}

/**
 * Deterministic job id: identical requests share one job cluster-wide while it is queued or running.
 * Sync and async jobs get different ids, so a client never waits behind a queued prefetch of the
 * same image (the later of the two finds the result stored and ends at once). The id stays the
 * same when a job moves from the normal to the big lane. BullMQ ids must not contain ':'.
 */
export function renderJobIdOf(job: Pick<RenderJob, 'originalKey' | 'variantKey' | 'allowDownload' | 'lane'>): string {
  return `${laneUrgency(job.lane)}-${job.allowDownload ? 'r' : 'local'}-${resultKeyOf(job)}`;
}
